use shapeflow::Dim;
use shapeflow::prelude::*;

// Operands checked by the argument traits (`SameShapeAs`, `MatmulRhs`) in concrete code and in
// code generic over shapes and backends (where the same-shape forms stand in for the
// broadcasting ones, whose rule the compiler cannot prove for an unknown `S`).
fn generic_sum<S: Shape, B: Backend>(a: &Tensor<S, B>, b: &Tensor<S, B>) -> Tensor<S, B> {
    a.add_same(b).unwrap().sub_same(b).unwrap().mul_same(a).unwrap()
}

fn generic_product<M: Dim, K: Dim, N: Dim, B: Backend>(
    a: &Tensor<(M, K), B>,
    b: &Tensor<(K, N), B>,
) -> Tensor<(M, N), B> {
    a.matmul(b).unwrap()
}

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(Const<2>, Const<3>), Cpu>::zeros(&dev, &[2, 3]).unwrap();
    let b = Tensor::<(Const<3>, Const<5>), Cpu>::zeros(&dev, &[3, 5]).unwrap();
    let c: Tensor<(Const<2>, Const<5>), Cpu> = a.matmul(&b).unwrap();
    let _ = c.add(&c).unwrap();
    let _ = generic_sum(&c, &c);
    let d = generic_product(&a, &b);
    assert_eq!(d.dims(), &[2, 5]);
    // A batch dimension on the left: (batch, 3) × (3, 5).
    let x = Tensor::<(Dyn, Const<3>), Cpu>::zeros(&dev, &[4, 3]).unwrap();
    assert_eq!(x.matmul(&b).unwrap().dims(), &[4, 5]);
}
