use shapeflow::prelude::*;

model! {
    pub struct Net {
        /// The image.
        input: [4],
        fc: Linear<4, 2>,
    }
}

fn main() {}
