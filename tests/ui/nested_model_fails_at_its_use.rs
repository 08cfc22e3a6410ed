use shapeflow::prelude::*;

model! {
    /// A head for 4 × 4 feature maps only: its `Linear` takes 8 × 4 × 4 values.
    pub struct Head {
        input x: [8, _, _],
        flat: Flatten,
        fc: Linear<128, 10>,
    }

    pub struct Net {
        input: [1, 12, 12],
        stem: Conv2d<1, 8, 3, padding = 1>,
        pool: MaxPool2d<2>,
        head: Head,
    }
}

fn main() {}
