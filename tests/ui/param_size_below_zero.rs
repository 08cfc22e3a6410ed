use shapeflow::prelude::*;

model! {
    pub struct Shrink<const C: usize> {
        input: [C],
        fc: Linear<C, C - 16>,
    }

    pub struct Net {
        input: [8],
        shrink: Shrink<8>,
    }
}

fn main() {}
