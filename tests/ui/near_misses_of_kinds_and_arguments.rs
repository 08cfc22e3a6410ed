use shapeflow::prelude::*;

model! {
    pub struct Cnn {
        input: [1, 28, 28],
        conv: Conv2d<1, 8, 3, strides = 2>,
        act: ReLU,
        flat: Flatten,
        fc: Linear<1352, units = 10>,
    }
}

fn main() {}
