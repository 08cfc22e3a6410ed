use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, hidden>,
    }
}

fn main() {}
