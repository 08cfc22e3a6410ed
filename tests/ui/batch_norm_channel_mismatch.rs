use shapeflow::prelude::*;

model! {
    pub struct Net {
        input: [3, 16, 16],
        conv1: Conv2d<3, 8, 3, padding = 1>,
        bn1: BatchNorm2d<16>,
        gap: GlobalAvgPool2d,
        fc: Linear<8, 2>,
    }
}

fn main() {}
