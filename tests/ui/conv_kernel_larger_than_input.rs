use shapeflow::prelude::*;

model! {
    pub struct Tiny {
        input: [3, 8, 8],
        conv1: Conv2d<3, 8, 3>,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<8, 8, 5>,
        flat: Flatten,
        fc: Linear<8, 10>,
    }
}

fn main() {}
