//! `fit` on sequences: a classifier over ragged sequences (a label per sequence) and a language
//! model (a label per step), with validation, per-token accuracy and padding never counted.

use shapeflow::data::Dataset;
use shapeflow::fit::{FitConfig, Metric, Validation, Verbosity, evaluate, fit, predict_classes};
use shapeflow::prelude::*;

model! {
    /// Tells whether a ragged sequence's first feature sums above zero.
    pub struct SignOfSum {
        input: [seq, 2],
        lstm: Lstm<2, 8>,
        last: LastStep,
        head: Linear<8, 2>,
    }
}

model! {
    /// Predicts the next symbol of a cyclic sequence.
    pub struct NextSymbol {
        input: [seq],
        emb: Embedding<4, 8>,
        lstm: Lstm<8, 16>,
        head: Linear<16, 4>,
    }
}

#[test]
fn a_classifier_learns_from_ragged_sequences() {
    let dev = Cpu::default();
    let mut rng = Rng::new(0);
    let (mut seqs, mut labels) = (Vec::new(), Vec::new());
    for i in 0..240 {
        let len = 2 + i % 7;
        let s: Vec<f32> = (0..len * 2).map(|_| rng.normal() as f32).collect();
        let sum: f32 = s.iter().step_by(2).sum();
        labels.push(usize::from(sum > 0.0));
        seqs.push(s);
    }
    let data = Dataset::sequences(seqs, labels, 2).unwrap();
    let mut model = SignOfSum::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-2, ..Default::default() });
    let config = FitConfig {
        epochs: 15,
        batch_size: 16,
        metrics: vec![Metric::Accuracy],
        validation: Validation::ShuffledSplit(0.25, 3),
        verbosity: Verbosity::Quiet,
        ..Default::default()
    };
    let history = fit(&mut model, &mut opt, &dev, &data, &config, &mut []).unwrap();
    let acc = history.last("val_accuracy").unwrap();
    assert!(acc > 0.85, "validation accuracy {acc}");
    // Batches of similar lengths learn as well.
    let mut model = SignOfSum::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-2, ..Default::default() });
    let bucketed = FitConfig { bucket_by_length: true, ..config };
    let history = fit(&mut model, &mut opt, &dev, &data, &bucketed, &mut []).unwrap();
    let acc = history.last("val_accuracy").unwrap();
    assert!(acc > 0.85, "validation accuracy with length buckets {acc}");
}

#[test]
fn a_language_model_trains_on_per_step_labels_and_ignores_padding() {
    let dev = Cpu::default();
    // Cycles 0 1 2 3 0 1 …, of different lengths and phases; the label of each step is the next symbol.
    let (mut seqs, mut labels) = (Vec::new(), Vec::new());
    for i in 0..64 {
        let (len, phase) = (3 + i % 9, i % 4);
        let ids: Vec<usize> = (0..=len).map(|t| (phase + t) % 4).collect();
        seqs.push(ids[..len].iter().map(|&c| c as f32).collect::<Vec<_>>());
        labels.push(ids[1..].to_vec());
    }
    let data = Dataset::sequences_with_step_labels(seqs, labels, 1).unwrap();
    let mut model = NextSymbol::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&model, AdamConfig { lr: 1e-2, ..Default::default() });
    let config = FitConfig {
        epochs: 12,
        batch_size: 8,
        metrics: vec![Metric::Accuracy],
        verbosity: Verbosity::Quiet,
        ..Default::default()
    };
    let history = fit(&mut model, &mut opt, &dev, &data, &config, &mut []).unwrap();
    assert!(history.last("accuracy").unwrap() > 0.95, "{:?}", history.last("accuracy"));
    let logs = evaluate(&model, &dev, &data, &config).unwrap();
    assert!(logs["accuracy"] > 0.95 && logs["loss"] < 0.3, "{logs:?}");
    // The loss is a mean over valid steps: evaluating in batches of one sequence, of any
    // padding, gives the same value.
    let one = FitConfig { batch_size: 1, ..config.clone() };
    let alone = evaluate(&model, &dev, &data, &one).unwrap();
    assert!((alone["loss"] - logs["loss"]).abs() < 1e-5, "{} vs {}", alone["loss"], logs["loss"]);
    // Predictions: one class per valid step, in the samples' order.
    let classes = predict_classes(&model, &dev, &data, 16).unwrap();
    assert_eq!(classes.len(), data.labels().len());
    let right = classes.iter().zip(data.labels()).filter(|(a, b)| a == b).count();
    assert!(right as f64 > 0.95 * classes.len() as f64, "{right} of {}", classes.len());
}
