use shapeflow::prelude::*;

model! {
    // Meant: sequences of 8 features per step (20 steps here, any number at run time).
    pub struct Fixed {
        input: [20, 8],
        lstm: Lstm<8, 16>,
    }
}

fn main() {}
