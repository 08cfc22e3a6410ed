use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [64],
        fc1: Linear<64.0, 32>,
        fc2: Linear<32, 0>,
    }
}

fn main() {}
