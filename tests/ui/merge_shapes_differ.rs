use shapeflow::prelude::*;

model! {
    pub struct Residual {
        input x: [8],
        fc1: Linear<8, 4>,
        act: Relu,
        sum: Add(x, act),
    }
}

fn main() {}
