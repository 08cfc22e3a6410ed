use shapeflow::prelude::*;

model! {
    pub struct Inception {
        input x: [3, 16, 16],
        narrow: Conv2d<3, 8, 1>(x),
        wide: Conv2d<3, 8, 3>(x),
        cat: Concat(narrow, wide),
    }
}

fn main() {}
