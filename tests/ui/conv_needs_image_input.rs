use shapeflow::prelude::*;

model! {
    pub struct Net {
        input: [784],
        conv1: Conv2d<1, 4, 3>,
    }
}

fn main() {}
