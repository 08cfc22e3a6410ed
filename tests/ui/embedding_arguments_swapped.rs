use shapeflow::prelude::*;

model! {
    // Meant: 5000 tokens of width 32. `Embedding` takes `num_embeddings` first.
    pub struct Tagger {
        input: [seq],
        emb: Embedding<32, 5000>,
        gru: Gru<32, 64>,
    }
}

fn main() {}
