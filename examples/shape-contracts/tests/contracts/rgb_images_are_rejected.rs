//! The classifier takes one-channel images.
use shape_contracts::Classifier;
use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let model = Classifier::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<3>, Const<28>, Const<28>), Cpu>::zeros(&dev, &[4, 3, 28, 28]).unwrap();
    let _ = model.forward(&x);
}
