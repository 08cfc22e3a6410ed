//! The passing twins of the sequence rules: an embedding into a stacked LSTM with a per-step
//! head, a bidirectional LSTM reduced by `LastStep<bidirectional = true>`, a mean over time,
//! per-step activations, dropout and layer norm, and a fixed-length id input.
use shapeflow::prelude::*;

model! {
    pub struct Tagger {
        input: [seq],
        emb: Embedding<100, 12, padding_idx = 0>,
        lstm: Lstm<12, 32, num_layers = 2>,
        norm: LayerNorm<32>,
        drop: Dropout<p = 0.1>,
        head: Linear<32, 5>,
        act: LogSoftmax,
    }
}

model! {
    pub struct Speaker {
        input: [seq, 12],
        lstm: Lstm<12, 32, bidirectional = true>,
        last: LastStep<bidirectional = true>,
        head: Linear<64, 9>,
    }
}

model! {
    pub struct Pooled {
        input: [seq, 12],
        proj: Linear<12, 16>,
        act: Relu,
        pool: MeanOverTime,
        head: Linear<16, 2>,
    }
}

model! {
    pub struct Gated {
        input: [seq, 6],
        gru: Gru<6, 8, num_layers = 2, bidirectional = true>,
        rnn: Rnn<16, 4>,
        relu: RnnRelu<4, 4>,
        last: LastStep,
        head: Linear<4, 2>,
    }
}

model! {
    pub struct FixedIds {
        input: [8],
        emb: Embedding<50, 4>,
        flat: Flatten,
        head: Linear<32, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let t = Tagger::<Cpu>::new(&dev, 0);
    let ids = Tensor::<(Dyn, Dyn), Cpu>::from_sequences(&dev, &[vec![1.0, 2.0], vec![3.0]]).unwrap();
    assert_eq!(t.forward(&ids).dims(), &[2, 2, 5]);
    let s = Speaker::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Dyn, Const<12>), Cpu>::from_sequences(&dev, &[vec![0.5; 24]]).unwrap();
    assert_eq!(s.forward(&x).dims(), &[1, 9]);
    assert_eq!(Pooled::<Cpu>::new(&dev, 0).forward(&x).dims(), &[1, 2]);
    let g = Gated::<Cpu>::new(&dev, 0);
    let x6 = Tensor::<(Dyn, Dyn, Const<6>), Cpu>::from_sequences(&dev, &[vec![0.5; 12]]).unwrap();
    assert_eq!(g.forward(&x6).dims(), &[1, 2]);
    assert!(g.param_names().contains(&"gru.weight_hh_l1_reverse".to_string()));
    let f = FixedIds::<Cpu>::new(&dev, 0);
    let ids = Tensor::<(Dyn, Const<8>), Cpu>::from_batch(&dev, 1, vec![1.0; 8]).unwrap();
    assert_eq!(f.forward(&ids).dims(), &[1, 2]);
}
