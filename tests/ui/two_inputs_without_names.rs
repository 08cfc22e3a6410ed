use shapeflow::prelude::*;

model! {
    pub struct Two {
        input: [8],
        input: [4],
        fc: Linear<8, 8>,
    }
}

fn main() {}
