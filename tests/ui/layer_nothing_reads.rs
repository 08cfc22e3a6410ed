use shapeflow::prelude::*;

model! {
    pub struct Net {
        input x: [8],
        side: Linear<8, 4>,
        main: Linear<8, 2>(x),
    }
}

fn main() {}
