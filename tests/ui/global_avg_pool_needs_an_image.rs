use shapeflow::prelude::*;

model! {
    pub struct Net {
        input: [64],
        gap: GlobalAvgPool2d,
    }
}

fn main() {}
