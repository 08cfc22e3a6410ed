use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(Dyn, Const<2>), Cpu>::zeros(&dev, &[1, 2]).unwrap();
    let b = Tensor::<(Dyn, Const<3>), Cpu>::zeros(&dev, &[1, 3]).unwrap();
    let _ = a.cat::<1, Const<4>, _>(&b);
}
