use shapeflow::prelude::*;

model! {
    /// A head for any channel count `C`, but its `Linear` forgot the 4 × 4 pixels.
    pub struct Head<const C: usize> {
        input: [C, 4, 4],
        flat: Flatten,
        fc: Linear<C, 10>,
    }

    pub struct Net {
        input: [8, 4, 4],
        head: Head<8>,
    }
}

fn main() {}
