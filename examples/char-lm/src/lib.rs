//! The character language models that `char-lm` trains: an LSTM and a decoder-only transformer.

use shapeflow::prelude::*;

model! {
    /// Next-character logits at every step of a sequence of character ids.
    pub struct CharLm {
        input: [seq],
        emb: Embedding<96, 64>,
        lstm: Lstm<64, 256, num_layers = 2>,
        head: Linear<256, 96>,
    }
}

model! {
    /// A pre-norm decoder block: causal self-attention and a feed-forward, each added to its input.
    pub struct Block {
        input x: [seq, 128],
        norm1: LayerNorm<128>,
        attn: MultiheadAttention<128, 4, causal = true>,
        sum1: Add(x, attn),
        norm2: LayerNorm<128>,
        linear1: Linear<128, 512>,
        act: Gelu,
        linear2: Linear<512, 128>,
        sum2: Add(sum1, linear2),
    }

    /// Next-character logits from a decoder-only transformer.
    pub struct CharTransformer {
        input: [seq],
        emb: Embedding<96, 128>,
        pos: PositionEmbedding<128, 128>,
        blocks: (Block, Block),
        norm: LayerNorm<128>,
        head: Linear<128, 96>,
    }
}
