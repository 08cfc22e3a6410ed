//! Class labels typed for 5 classes cannot score the classifier's 10 logits.
use shape_contracts::{Classifier, ClassifierInput};
use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let model = Classifier::<Cpu>::new(&dev, 0);
    let x = ClassifierInput::<Cpu>::zeros(&dev, &[2, 1, 28, 28]).unwrap();
    let labels = Labels::<Const<5>>::new(vec![1, 4]).unwrap();
    let _ = cross_entropy(&model.forward(&x), &labels);
}
