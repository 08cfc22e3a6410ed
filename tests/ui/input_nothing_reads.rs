use shapeflow::prelude::*;

model! {
    pub struct Pair {
        input a: [8],
        input b: [8],
        fc: Linear<8, 2>,
    }
}

fn main() {}
