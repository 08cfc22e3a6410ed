use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let a = Tensor::<(Dyn, U10), Cpu>::zeros(&dev, &[1, 10]).unwrap();
    let b = Tensor::<(Dyn, U5), Cpu>::zeros(&dev, &[1, 5]).unwrap();
    let _ = a.add(&b);
}
