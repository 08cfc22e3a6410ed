use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(Dyn, Const<3>, Const<4>), Cpu>::zeros(&dev, &[2, 3, 4]).unwrap();
    let b = Tensor::<(Dyn, Const<5>, Const<2>), Cpu>::zeros(&dev, &[2, 5, 2]).unwrap();
    let _ = a.matmul(&b);
}
