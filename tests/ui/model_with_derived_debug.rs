use shapeflow::prelude::*;

model! {
    // `model!` prints the architecture itself; deriving `Debug` too would conflict.
    #[derive(Debug, Module)]
    pub struct Mlp {
        input: [4],
        fc: Linear<4, 2>,
    }
}

fn main() {}
