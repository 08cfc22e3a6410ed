use shapeflow::prelude::*;

model! {
    pub struct Encoder {
        input: [12, seq],
        norm: LayerNorm<12>,
    }
}

model! {
    pub struct Frames {
        input: [time, 12],
        norm: LayerNorm<12>,
    }
}

fn main() {}
