use shapeflow::prelude::*;

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
    // Labels for a 5-class problem scored against 10 logits.
    let labels = Labels::<Const<5>>::new(vec![1, 4]).unwrap();
    let _ = cross_entropy(&model.forward(&x), &labels);
}
