use shapeflow::prelude::*;

model! {
    /// A block declared in another `model!`: not visible to `Net`'s.
    pub struct Block {
        input x: [8, _, _],
        conv: Conv2d<8, 8, 3, padding = 1>,
        sum: Add(x, conv),
    }
}

model! {
    pub struct Net {
        input: [8, 6, 6],
        block: Block,
        gap: GlobalAvgPool2d,
    }
}

fn main() {}
