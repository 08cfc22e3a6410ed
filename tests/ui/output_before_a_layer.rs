use shapeflow::prelude::*;

model! {
    pub struct Heads {
        input x: [8],
        fc: Linear<8, 4>,
        cls: Linear<4, 2>,
        output (cls, fc),
        reg: Linear<4, 1>(fc),
    }
}

fn main() {}
