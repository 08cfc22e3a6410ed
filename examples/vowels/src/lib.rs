//! The speaker classifiers that `vowels` trains: a bidirectional LSTM and a transformer encoder over ragged sequences of 12 coefficients.

use shapeflow::prelude::*;

model! {
    /// Speaker classifier over ragged sequences of 12 coefficients per frame.
    pub struct VowelNet {
        input: [seq, 12],
        lstm: Lstm<12, 64, bidirectional = true>, // [seq, 128]
        last: LastStep<bidirectional = true>,     // [128]: forward at each sample's last frame, reverse at its first
        drop: Dropout<p = 0.2>,
        head: Linear<128, 9>,
    }
}

model! {
    /// A post-norm transformer encoder layer (PyTorch's `nn.TransformerEncoderLayer(32, 4,
    /// dim_feedforward = 64, activation = "gelu")`, its parameter names).
    pub struct EncoderLayer {
        input x: [seq, 32],
        self_attn: MultiheadAttention<32, 4>,
        sum1: Add(x, self_attn),
        norm1: LayerNorm<32>,
        linear1: Linear<32, 64>,
        act: Gelu,
        drop: Dropout<p = 0.1>,
        linear2: Linear<64, 32>,
        sum2: Add(norm1, linear2),
        norm2: LayerNorm<32>,
    }

    /// Speaker classifier: a transformer encoder over the frames, mean-pooled.
    pub struct VowelTransformer {
        input: [seq, 12],
        proj: Linear<12, 32>,
        pos: PositionEmbedding<32, 32>,
        layers: (EncoderLayer, EncoderLayer),
        pool: MeanOverTime,
        head: Linear<32, 9>,
    }
}
