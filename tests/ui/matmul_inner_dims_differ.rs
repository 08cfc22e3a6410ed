use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(Const<2>, Const<3>), Cpu>::zeros(&dev, &[2, 3]).unwrap();
    let b = Tensor::<(Const<4>, Const<5>), Cpu>::zeros(&dev, &[4, 5]).unwrap();
    let _ = a.matmul(&b);
}
