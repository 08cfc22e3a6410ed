use shapeflow::prelude::*;

model! {
    pub struct Net {
        input: [64],
        drop: Dropout2d<0.2>,
        fc: Linear<64, 2>,
    }
}

fn main() {}
