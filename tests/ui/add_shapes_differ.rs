use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(Dyn, Const<10>), Cpu>::zeros(&dev, &[1, 10]).unwrap();
    let b = Tensor::<(Dyn, Const<5>), Cpu>::zeros(&dev, &[1, 5]).unwrap();
    let _ = a.add(&b);
}
