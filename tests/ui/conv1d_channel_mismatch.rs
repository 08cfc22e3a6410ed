use shapeflow::prelude::*;

model! {
    pub struct Audio {
        input: [2, 100],
        conv1: Conv1d<2, 8, 5>,
        act: Relu,
        conv2: Conv1d<4, 8, 5>,
    }
}

fn main() {}
