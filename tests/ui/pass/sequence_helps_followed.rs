use shapeflow::prelude::*;

// The corrected versions of `embedding_arguments_swapped.rs` (the second reading of its help),
// `lstm_input_with_fixed_steps.rs` and `cross_attention_memory_width_differs.rs`.
model! {
    pub struct Tagger {
        input: [seq],
        emb: Embedding<5000, 32>,
        gru: Gru<32, 64>,
    }
}

model! {
    pub struct Fixed {
        input: [seq, 8],
        lstm: Lstm<8, 16>,
    }
}

model! {
    pub struct Decoder {
        input tgt: [seq, 32],
        input memory: [seq, 64],
        memory_proj: Linear<64, 32>(memory),
        attn: CrossAttention<32, 4>(tgt, memory_proj),
    }
}

fn main() {
    let dev = Cpu::default();
    assert_eq!(Tagger::<Cpu>::new(&dev, 0).emb.weight.dims(), &[5000, 32]);
    let x = Tensor::<(Dyn, Dyn, Const<8>), Cpu>::from_sequences(&dev, &[vec![0.5; 20 * 8]]).unwrap();
    assert_eq!(Fixed::<Cpu>::new(&dev, 0).forward(&x).dims(), &[1, 20, 16]);
    let tgt = Tensor::<(Dyn, Dyn, Const<32>), Cpu>::from_sequences(&dev, &[vec![0.1; 64]]).unwrap();
    let mem = Tensor::<(Dyn, Dyn, Const<64>), Cpu>::from_sequences(&dev, &[vec![0.2; 192]]).unwrap();
    assert_eq!(Decoder::<Cpu>::new(&dev, 0).forward(&tgt, &mem).dims(), &[1, 2, 32]);
}
