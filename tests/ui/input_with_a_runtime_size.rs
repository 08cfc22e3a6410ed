use shapeflow::prelude::*;

model! {
    pub struct Encoder {
        input: [seq, 12],
        norm: LayerNorm<12>,
    }
}

fn main() {}
