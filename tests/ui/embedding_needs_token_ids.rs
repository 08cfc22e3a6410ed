use shapeflow::prelude::*;

model! {
    pub struct Words {
        input: [seq, 3],
        emb: Embedding<100, 16>,
    }
}

model! {
    pub struct Pad {
        input: [seq],
        emb: Embedding<100, 16, padding_idx = 100>,
    }
}

fn main() {}
