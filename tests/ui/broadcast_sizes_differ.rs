use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<32>, Const<8>), Cpu>::zeros(&dev, &[4, 32, 8]).unwrap();
    let b = Tensor::<(Const<16>,), Cpu>::zeros(&dev, &[16]).unwrap();
    let _ = &x + &b;
}
