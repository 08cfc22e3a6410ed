use shapeflow::prelude::*;

model! {
    /// A residual block on 8 channels of any height and width.
    pub struct Block {
        input x: [8, _, _],
        conv: Conv2d<8, 8, 3, padding = 1>,
        sum: Add(x, conv),
    }

    pub struct Net {
        input: [1, 12, 12],
        stem: Conv2d<1, 16, 3, padding = 1>,
        block: Block,
        gap: GlobalAvgPool2d,
        fc: Linear<16, 10>,
    }
}

fn main() {}
