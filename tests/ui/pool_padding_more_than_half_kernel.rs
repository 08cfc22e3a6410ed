use shapeflow::prelude::*;

model! {
    pub struct Net {
        input: [1, 8, 8],
        pool: MaxPool2d<2, padding = 2>,
        flat: Flatten,
        fc: Linear<36, 2>,
    }
}

fn main() {}
