use shapeflow::prelude::*;

model! {
    pub struct Net {
        input: [64],
        pool: MaxPool2d<2>,
    }
}

fn main() {}
