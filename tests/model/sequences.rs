//! Sequence models from `model!`: token ids through an embedding, a stacked LSTM and a per-step
//! linear head; a bidirectional classifier over ragged frames. The padding guarantee for whole
//! models (garbage in padded positions changes no bit of any output or gradient), batches in
//! any order giving the same per-sample results, and the summary.

use shapeflow::prelude::*;

model! {
    /// A character language model's shape: ids → vectors → 2-layer LSTM → logits per step.
    pub struct TinyLm {
        input: [seq],
        emb: Embedding<11, 6, padding_idx = 0>,
        lstm: Lstm<6, 8, num_layers = 2>,
        act: Tanh,
        head: Linear<8, 11>,
    }
}

model! {
    /// A classifier over ragged sequences of 3 features.
    pub struct Classifier {
        input: [seq, 3],
        proj: Linear<3, 4>,
        lstm: Lstm<4, 5, bidirectional = true>,
        last: LastStep<bidirectional = true>,
        head: Linear<10, 2>,
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn grads_of<M: Module<Cpu>>(g: &M) -> Vec<f32> {
    let mut out = Vec::new();
    g.visit_params(&mut String::new(), &mut |_, _, s| out.extend(Cpu::to_host(s)));
    out
}

#[test]
fn a_language_model_ignores_whatever_the_padding_holds() {
    let dev = Cpu::default();
    let mut lm = TinyLm::<Cpu>::new(&dev, 0);
    let lengths = [5usize, 2, 4];
    let ids: Vec<f32> = (0..15).map(|i| (1 + (i * 7) % 10) as f32).collect();
    let run = |lm: &mut TinyLm<Cpu>, pad: f32| {
        let mut data = ids.clone();
        for (b, &n) in lengths.iter().enumerate() {
            data[b * 5 + n..(b + 1) * 5].fill(pad);
        }
        let x = Tensor::<(Dyn, Dyn), Cpu>::from_padded(&dev, &[3, 5], data, &lengths).unwrap();
        let (y, cache) = lm.forward_train(&x);
        let dy: Vec<f32> = (0..y.len()).map(|i| ((i % 5) as f32 - 2.0) * 0.01).collect();
        let dy = Tensor::<(Dyn, Dyn, Const<11>), Cpu>::from_vec(&dev, y.dims(), dy).unwrap();
        let g = lm.backward(&cache, &dy).unwrap();
        (y.to_vec(), grads_of(&g))
    };
    let clean = run(&mut lm, 0.0);
    for pad in [f32::NAN, 3.0, 1e9, -2.0] {
        let got = run(&mut lm, pad);
        assert_eq!(bits(&got.0), bits(&clean.0), "logits with padding {pad}");
        assert_eq!(bits(&got.1), bits(&clean.1), "gradients with padding {pad}");
    }
}

#[test]
fn sample_order_and_padding_length_do_not_change_results() {
    let dev = Cpu::default();
    let model = Classifier::<Cpu>::new(&dev, 1);
    let mut rng = Rng::new(2);
    let seqs: Vec<Vec<f32>> = [2usize, 6, 1, 4]
        .iter()
        .map(|&n| (0..n * 3).map(|_| rng.normal() as f32).collect())
        .collect();
    let x = Tensor::<(Dyn, Dyn, Const<3>), Cpu>::from_sequences(&dev, &seqs).unwrap();
    let y = model.forward(&x).to_vec();
    // Sorted by length, longest first (what packing would do).
    let order = [1usize, 3, 0, 2];
    let sorted: Vec<Vec<f32>> = order.iter().map(|&i| seqs[i].clone()).collect();
    let xs = Tensor::<(Dyn, Dyn, Const<3>), Cpu>::from_sequences(&dev, &sorted).unwrap();
    let ys = model.forward(&xs).to_vec();
    for (k, &i) in order.iter().enumerate() {
        for j in 0..2 {
            let (a, b) = (ys[k * 2 + j], y[i * 2 + j]);
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                "sample {i}: {a} sorted, {b} unsorted"
            );
        }
    }
    // Each sample alone (no padding at all) gives its result in the batch.
    for (i, s) in seqs.iter().enumerate() {
        let one =
            Tensor::<(Dyn, Dyn, Const<3>), Cpu>::from_sequences(&dev, std::slice::from_ref(s))
                .unwrap();
        let y1 = model.forward(&one).to_vec();
        for j in 0..2 {
            assert!((y1[j] - y[i * 2 + j]).abs() <= 1e-6 * (1.0 + y1[j].abs()), "sample {i} alone");
        }
    }
}

#[test]
fn sequence_models_print_their_runtime_steps() {
    let dev = Cpu::default();
    let lm = TinyLm::<Cpu>::new(&dev, 0);
    let text = lm.summary().to_string();
    assert!(text.contains("(input [batch, seq])"), "{text}");
    assert!(
        text.contains("Lstm<6, 8, num_layers = 2>") && text.contains("[batch, seq, 8]"),
        "{text}"
    );
    assert!(text.contains("[batch, seq, 11]"), "{text}");
    assert_eq!(&lm.param_names()[..3], ["emb.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0"]);
    let c = Classifier::<Cpu>::new(&dev, 0);
    assert!(c.summary().to_string().contains("LastStep<bidirectional = true>"));
    assert_eq!(c.param_names()[6], "lstm.weight_ih_l0_reverse");
}

#[test]
fn an_embedding_read_only_by_an_lstm_runs_fused_with_it() {
    let dev = Cpu::default();
    let mut lm = TinyLm::<Cpu>::new(&dev, 3);
    let x = Tensor::<(Dyn, Dyn), Cpu>::from_padded(
        &dev,
        &[2, 4],
        vec![1.0, 5.0, 0.0, 9.0, 3.0, 3.0, f32::NAN, f32::NAN],
        &[4, 2],
    )
    .unwrap();
    // The same logits as the four layers one after another (up to rounding)…
    let apart = lm.head.forward(&lm.act.forward(&lm.lstm.forward(&lm.emb.forward(&x))));
    let (y, cache) = lm.forward_train(&x);
    for (a, b) in y.to_vec().iter().zip(apart.to_vec()) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
    assert_eq!(lm.forward(&x).to_vec(), y.to_vec());
    // …but the LSTM's cache is the fused pass's, which reads the embedding table: the layer's
    // own backward refuses it.
    let d = Tensor::<(Dyn, Dyn, Const<8>), Cpu>::zeros(&dev, &[2, 4, 8]).unwrap();
    let err = lm.lstm.backward(&cache.lstm, &d).map(|_| ()).expect_err("refused").to_string();
    assert!(err.contains("embedding table"), "{err}");
}

#[test]
fn the_fused_models_input_check_names_an_id_outside_the_table() {
    let dev = Cpu::default();
    let lm = TinyLm::<Cpu>::new(&dev, 3);
    let x = |bad: f32| {
        Tensor::<(Dyn, Dyn), Cpu>::from_padded(
            &dev,
            &[2, 3],
            vec![1.0, 5.0, 2.0, 3.0, bad, f32::NAN],
            &[3, 2],
        )
        .unwrap()
    };
    // Padding past a sample's length is not an id and is not checked.
    assert!(lm.check_input(&x(10.0)).is_ok());
    let err = lm.check_input(&x(11.0)).unwrap_err().to_string();
    assert!(
        err.contains("token id 11 at sample 1, position 1 is not an id of this table of 11 rows"),
        "{err}"
    );
}
