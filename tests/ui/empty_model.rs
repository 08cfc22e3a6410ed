use shapeflow::prelude::*;

model! {
    pub struct Nothing {
        input: [784],
    }
}

fn main() {}
