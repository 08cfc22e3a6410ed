use shapeflow::prelude::*;

model! {
    pub struct Pair {
        input a: [8],
        input b: [8],
        sum: Add(a, b),
    }

    pub struct Net {
        input x: [8],
        pair: Pair,
        fc: Linear<8, 2>,
    }
}

fn main() {}
