//! The passing twins of the attention rules: heads that divide the width, a causal decoder
//! block with dropout on its attention weights, and a post-norm encoder layer nested twice
//! (PyTorch's `nn.TransformerEncoder` names).
use shapeflow::prelude::*;

model! {
    pub struct EncoderLayer {
        input x: [seq, 32],
        self_attn: MultiheadAttention<32, 4>,
        sum1: Add(x, self_attn),
        norm1: LayerNorm<32>,
        linear1: Linear<32, 64>,
        act: Gelu,
        linear2: Linear<64, 32>,
        sum2: Add(norm1, linear2),
        norm2: LayerNorm<32>,
    }

    pub struct Classifier {
        input: [seq, 12],
        proj: Linear<12, 32>,
        pos: SinusoidalPositions,
        layers: (EncoderLayer, EncoderLayer),
        pool: MeanOverTime,
        head: Linear<32, 9>,
    }

    pub struct Decoder {
        input: [seq],
        emb: Embedding<96, 32>,
        pos: PositionEmbedding<128, 32>,
        norm: RmsNorm<32>,
        attn: MultiheadAttention<32, 8, causal = true, rope = true, dropout = 0.1>,
        head: Linear<32, 96>,
    }
}

model! {
    /// A decoder layer: causal self-attention, then cross-attention over an encoder's memory.
    pub struct DecoderLayer {
        input tgt: [seq, 32],
        input memory: [seq, 32],
        self_attn: MultiheadAttention<32, 4, causal = true>(tgt),
        sum1: Add(tgt, self_attn),
        norm1: LayerNorm<32>,
        multihead_attn: CrossAttention<32, 4>(norm1, memory),
        sum2: Add(norm1, multihead_attn),
        norm2: LayerNorm<32>,
        output norm2
    }
}

fn main() {
    let dev = Cpu::default();
    let c = Classifier::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Dyn, Const<12>), Cpu>::from_sequences(&dev, &[vec![0.5; 36], vec![0.1; 12]]).unwrap();
    assert_eq!(c.forward(&x).dims(), &[2, 9]);
    assert!(c.param_names().contains(&"layers.1.self_attn.in_proj_weight".to_string()));
    let d = Decoder::<Cpu>::new(&dev, 0);
    let ids = Tensor::<(Dyn, Dyn), Cpu>::from_sequences(&dev, &[vec![1.0, 2.0, 3.0]]).unwrap();
    assert_eq!(d.forward(&ids).dims(), &[1, 3, 96]);
    let dl = DecoderLayer::<Cpu>::new(&dev, 0);
    let tgt = Tensor::<(Dyn, Dyn, Const<32>), Cpu>::from_sequences(&dev, &[vec![0.1; 64]]).unwrap();
    let memory = Tensor::<(Dyn, Dyn, Const<32>), Cpu>::from_sequences(&dev, &[vec![0.2; 96]]).unwrap();
    let y = dl.forward(&tgt, &memory);
    assert_eq!(y.dims(), &[1, 2, 32]);
}
