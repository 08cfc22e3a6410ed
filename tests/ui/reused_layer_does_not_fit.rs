use shapeflow::prelude::*;

model! {
    pub struct Tied {
        input x: [5],
        l1: Linear<5, 4>,
        act: Tanh,
        l2: l1(act),
    }
}

fn main() {}
