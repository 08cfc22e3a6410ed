use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let conv = Conv2d::<Const<1>, Const<4>, Const<7>, Cpu>::init(&dev, &mut Rng::new(0));
    let x = Tensor::<(Dyn, Const<1>, Const<5>, Const<5>), Cpu>::zeros(&dev, &[1, 1, 5, 5]).unwrap();
    // A 7×7 kernel does not fit a 5×5 image: no output size can be stated.
    let _y: Tensor<(Dyn, Const<4>, Const<1>, Const<1>), Cpu> = conv.forward_to(&x);
}
