use shapeflow::prelude::*;

// The corrected version: labels built for the model's 10 classes, or plain (run-time checked).
model! {
    pub struct Digits {
        input: [784],
        fc: Linear<784, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let model = Digits::<Cpu>::new(&dev, 0);
    let x = DigitsInput::<Cpu>::zeros(&dev, &[2, 784]).unwrap();
    let labels = Labels::<Const<10>>::new(vec![1, 9]).unwrap();
    assert!(cross_entropy(&model.forward(&x), &labels).is_ok());
    assert!(cross_entropy(&model.forward(&x), &[1, 9]).is_ok());
    assert!(nll_loss(&model.forward(&x), &vec![1, 9]).is_ok());
}
