use shapeflow::prelude::*;

model! {
    pub struct Classifier {
        input: [1, 28, 28],
        fc1: Linear<784, 10>,
    }
}

fn main() {}
