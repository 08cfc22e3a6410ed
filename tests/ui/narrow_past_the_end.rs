use shapeflow::prelude::*;

model! {
    pub struct Glu {
        input x: [8],
        fc: Linear<8, 6>,
        lo: Narrow<0, 3>(fc),
        hi: Narrow<3, 4>(fc),
        glu: Mul(lo, hi),
    }
}

fn main() {}
