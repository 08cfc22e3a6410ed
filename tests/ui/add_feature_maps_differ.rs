use shapeflow::prelude::*;

model! {
    // A residual stage whose shortcut skips the stride-2 convolution's channel change.
    pub struct Stage {
        input x: [16, 8, 8],
        conv: Conv2d<16, 32, 3, stride = 2, padding = 1>,
        act: Relu,
        sum: Add(act, x),
    }
}

fn main() {}
