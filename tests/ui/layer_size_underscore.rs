use shapeflow::prelude::*;

model! {
    pub struct Block {
        input x: [64, _, _],
        conv: Conv2d<_, _, 3, padding = 1>,
    }
}

fn main() {}
