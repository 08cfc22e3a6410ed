use shapeflow::prelude::*;

// The corrected versions of `embedding_arguments_swapped.rs` (the second reading of its help)
// and `lstm_input_with_fixed_steps.rs`.
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

fn main() {
    let dev = Cpu::default();
    assert_eq!(Tagger::<Cpu>::new(&dev, 0).emb.weight.dims(), &[5000, 32]);
    let x = Tensor::<(Dyn, Dyn, Const<8>), Cpu>::from_sequences(&dev, &[vec![0.5; 20 * 8]]).unwrap();
    assert_eq!(Fixed::<Cpu>::new(&dev, 0).forward(&x).dims(), &[1, 20, 16]);
}
