use shapeflow::prelude::*;

model! {
    pub struct Net {
        input x: [8],
        fc1: Linear<8, 8>,
        sum: Add,
    }
}

fn main() {}
