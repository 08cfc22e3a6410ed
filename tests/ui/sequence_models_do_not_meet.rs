use shapeflow::prelude::*;

model! {
    /// 8 channels in, 16 out.
    pub struct Widen {
        input x: [8, _, _],
        conv: Conv2d<8, 16, 3, padding = 1>,
    }

    /// 8 channels in and out.
    pub struct Block {
        input x: [8, _, _],
        conv: Conv2d<8, 8, 3, padding = 1>,
        sum: Add(x, conv),
    }

    pub struct Net {
        input: [8, 6, 6],
        stage: (Widen, Block),
        gap: GlobalAvgPool2d,
    }
}

fn main() {}
