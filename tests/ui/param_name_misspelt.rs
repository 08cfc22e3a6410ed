use shapeflow::prelude::*;

model! {
    pub struct Block<const IN: usize, const OUT: usize> {
        input x: [IN, _, _],
        conv: Conv2d<IN, OUTT, 3, padding = 1>,
    }

    pub struct Net {
        input: [16, 8, 8],
        block: Block<16, 32>,
        gap: GlobalAvgPool2d,
        fc: Linear<32, 10>,
    }

    /// A size name in a model without parameters.
    pub struct Mlp {
        input: [784],
        fc: Linear<784, HIDDEN>,
    }
}

fn main() {}
