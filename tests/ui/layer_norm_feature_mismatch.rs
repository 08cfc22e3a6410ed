use shapeflow::prelude::*;

model! {
    pub struct Tagger {
        input: [16],
        fc1: Linear<16, 128>,
        norm: LayerNorm<64>,
        fc2: Linear<128, 4>,
    }
}

fn main() {}
