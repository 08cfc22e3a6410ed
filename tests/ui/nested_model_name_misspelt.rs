use shapeflow::prelude::*;

model! {
    pub struct Block {
        input x: [8, _, _],
        conv: Conv2d<8, 8, 3, padding = 1>,
        sum: Add(x, conv),
    }

    pub struct Net {
        input: [8, 6, 6],
        block: Blok,
        gap: GlobalAvgPool2d,
    }
}

fn main() {}
