//! The corrected versions of every contract case: these compile and run.
use shape_contracts::{Classifier, ClassifierInput, Head};
use shapeflow::prelude::*;

fn main() {
    let dev = Cpu::default();
    let (model, head) = (Classifier::<Cpu>::new(&dev, 0), Head::<Cpu>::new(&dev, 1));
    let x = ClassifierInput::<Cpu>::zeros(&dev, &[2, 1, 28, 28]).unwrap();
    let logits = model.forward(&x);
    assert_eq!(head.forward(&logits).dims(), &[2, 1]);
    let labels = Labels::<Const<10>>::new(vec![1, 9]).unwrap();
    assert!(cross_entropy(&logits, &labels).is_ok());
}
