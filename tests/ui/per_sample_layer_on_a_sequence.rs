use shapeflow::prelude::*;

model! {
    pub struct Speaker {
        input: [seq, 12],
        lstm: Lstm<12, 32>,
        norm: BatchNorm1d<32>,
        head: Linear<32, 9>,
    }
}

model! {
    pub struct Flat {
        input: [seq, 12],
        flat: Flatten,
        head: Linear<12, 9>,
    }
}

fn main() {}
