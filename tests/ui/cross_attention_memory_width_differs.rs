use shapeflow::prelude::*;

model! {
    // The encoder's memory is 64 wide; the decoder attends at 32.
    pub struct Decoder {
        input tgt: [seq, 32],
        input memory: [seq, 64],
        attn: CrossAttention<32, 4>(tgt, memory),
    }
}

fn main() {}
