use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let conv = Conv2d::<U1, U4, U7, Cpu>::init(&dev, &mut Rng::new(0));
    let x = Tensor::<(Dyn, U1, U5, U5), Cpu>::zeros(&dev, &[1, 1, 5, 5]).unwrap();
    let _y = conv.forward(&x);
}
