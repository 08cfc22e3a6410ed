use shapeflow::prelude::*;

model! {
    pub struct Net {
        input: [1, 28, 28],
        conv1: Conv2d<1, 4, 5, stride = 4>,
        pool1: MaxPool2d<8>,
        flat: Flatten,
        fc: Linear<4, 10>,
    }
}

fn main() {}
