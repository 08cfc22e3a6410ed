use shapeflow::prelude::*;

model! {
    pub struct Classifier {
        input: [784],
        fc1: Linear<784, 10>,
    }
}

fn main() {
    let _ = Classifier::<Cpu>::new(&Cpu::default(), 0);
}
