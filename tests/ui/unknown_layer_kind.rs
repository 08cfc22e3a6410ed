use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [784],
        fc1: Linaer<784, 10>,
    }
}

fn main() {}
