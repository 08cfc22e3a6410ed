use shapeflow::prelude::*;

model! {
    pub struct Encoder {
        input: [seq, 256],
        attn: MultiheadAttention<256, 6>,
    }
}

model! {
    pub struct Narrow {
        input: [seq, 64],
        attn: MultiheadAttention<128, 4>,
    }
}

model! {
    pub struct NotASequence {
        input: [64],
        attn: MultiheadAttention<64, 4>,
    }
}

model! {
    pub struct Positions {
        input: [seq, 64],
        pos: PositionEmbedding<512, 32>,
    }
}

model! {
    pub struct Cross {
        input tgt: [seq, 32],
        input memory: [seq, 16],
        cross: CrossAttention<32, 4>(tgt, memory),
        output cross
    }
}

model! {
    pub struct OddHeads {
        input: [seq, 12],
        attn: MultiheadAttention<12, 4, rope = true>,
    }
}

fn main() {}
