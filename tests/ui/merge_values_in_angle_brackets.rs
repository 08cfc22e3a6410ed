use shapeflow::prelude::*;

model! {
    pub struct Residual {
        input x: [8],
        fc: Linear<8, 8>,
        sum: Add<x, fc>,
    }
}

fn main() {}
