//! The classifier takes images, not flattened vectors.
use shape_contracts::Classifier;
use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let model = Classifier::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<784>), Cpu>::zeros(&dev, &[4, 784]).unwrap();
    let _ = model.forward(&x);
}
