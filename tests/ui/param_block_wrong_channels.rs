use shapeflow::prelude::*;

model! {
    pub struct Block<const IN: usize, const OUT: usize> {
        input x: [IN, _, _],
        conv: Conv2d<IN, OUT, 3, padding = 1>,
        act: Relu,
    }

    pub struct Net {
        input: [3, 32, 32],
        stem: Conv2d<3, 16, 3, padding = 1>,
        block: Block<32, 64>,
        gap: GlobalAvgPool2d,
        fc: Linear<64, 10>,
    }
}

fn main() {}
