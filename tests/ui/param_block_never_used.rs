use shapeflow::prelude::*;

model! {
    pub struct Block<const C: usize> {
        input x: [C, _, _],
        conv: Conv2d<C, C, 3, padding = 1>,
    }

    pub struct Net {
        input: [16, 8, 8],
        conv: Conv2d<16, 16, 3, padding = 1>,
    }
}

fn main() {}
