use shapeflow::prelude::*;

model! {
    pub struct Tagger {
        input: [seq],
        emb: Embedding<100, 64>,
        lstm: Lstm<12, 32>,
        head: Linear<32, 5>,
    }
}

fn main() {}
