use shapeflow::prelude::*;

model! {
    pub struct Decoder {
        input: [seq, 32],
        attn: MultiheadAttention<32, 4, causal = true, dropout = 1.5>,
    }
}

fn main() {}
