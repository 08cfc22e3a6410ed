use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(Dyn, Const<2>, Const<3>), Cpu>::zeros(&dev, &[1, 2, 3]).unwrap();
    let b = Tensor::<(Dyn, Const<2>, Const<4>), Cpu>::zeros(&dev, &[1, 2, 4]).unwrap();
    let _ = a.cat::<1, Const<4>, _>(&b);
}
