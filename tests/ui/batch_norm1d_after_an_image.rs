use shapeflow::prelude::*;

model! {
    pub struct Net {
        input: [3, 8, 8],
        conv: Conv2d<3, 4, 3>,
        bn: BatchNorm1d<4>,
    }
}

fn main() {}
