use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(Const<2>, Const<3>), Cpu>::zeros(&dev, &[2, 3]).unwrap();
    let b = Tensor::<(Const<3>, Const<5>), Cpu>::zeros(&dev, &[3, 5]).unwrap();
    let c: Tensor<(Const<2>, Const<5>), Cpu> = a.matmul(&b).unwrap();
    let _ = c.add(&c).unwrap();
}
