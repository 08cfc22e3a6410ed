use shapeflow::prelude::*;

model! {
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 6, 5>,
        act1: Relu,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<6, 16, 5>,
        act2: Relu,
        pool2: MaxPool2d<2>,
        flat: Flatten,
        fc1: Linear<400, 120>,
        act3: Relu,
        fc2: Linear<120, 10>,
    }
}

fn main() {}
