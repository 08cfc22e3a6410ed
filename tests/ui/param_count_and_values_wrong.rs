use shapeflow::prelude::*;

model! {
    pub struct Block<const IN: usize, const OUT: usize, const STRIDE: usize = 1> {
        input x: [IN, _, _],
        conv: Conv2d<IN, OUT, 3, stride = STRIDE, padding = 1>,
    }

    pub struct Net {
        input: [16, 8, 8],
        a: Block<16>,
        b: Block<16, 0.5>,
        c: Block<16, 16, 1, 2>,
        d: Block<16, 16, STEP = 2>,
    }
}

fn main() {}
