use shapeflow::prelude::*;

model! {
    pub struct Both {
        input: [seq, 12],
        lstm: Lstm<12, 32, bidirectional = true>,
        last: LastStep,
        head: Linear<64, 9>,
    }
}

model! {
    pub struct One {
        input: [seq, 12],
        lstm: Lstm<12, 32>,
        last: LastStep<bidirectional = true>,
        head: Linear<32, 9>,
    }
}

fn main() {}
