use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 128, 10>,
        act: Relu<2>,
        fc2: Linear<128, 10>,
    }
}

fn main() {}
