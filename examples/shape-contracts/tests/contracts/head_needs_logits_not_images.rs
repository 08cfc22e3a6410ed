//! The head takes the classifier's logits, not its images.
use shape_contracts::{Classifier, ClassifierInput, Head};
use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let (model, head) = (Classifier::<Cpu>::new(&dev, 0), Head::<Cpu>::new(&dev, 1));
    let x = ClassifierInput::<Cpu>::zeros(&dev, &[4, 1, 28, 28]).unwrap();
    let _ = (model, head.forward(&x));
}
