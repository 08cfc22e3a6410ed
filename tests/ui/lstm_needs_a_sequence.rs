use shapeflow::prelude::*;

model! {
    pub struct Fixed {
        input: [12],
        lstm: Lstm<12, 32>,
    }
}

fn main() {}
