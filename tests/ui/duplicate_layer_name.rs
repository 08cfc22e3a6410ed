use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [784],
        fc: Linear<784, 128>,
        act: Relu,
        fc: Linear<128, 10>,
    }
}

fn main() {}
