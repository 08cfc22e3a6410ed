//! `fit` on fixed-size samples: histories, metrics, validation, callbacks, schedules, clipping,
//! NaN handling, plots, and resuming a run bit for bit from a training checkpoint.

use std::path::PathBuf;

use shapeflow::data::Dataset;
use shapeflow::fit::{
    Callback, EarlyStopping, EpochContext, FitConfig, LossFn, LrScheduler, Metric, ModelCheckpoint,
    Validation, Verbosity, fit,
};
use shapeflow::optim::StepLr;
use shapeflow::prelude::*;

model! {
    /// A small classifier with dropout (so resuming must restore its generator).
    pub struct Clf {
        input: [4],
        fc1: Linear<4, 16>,
        act: Tanh,
        drop: Dropout<0.2>,
        fc2: Linear<16, 3>,
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shapeflow-fit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Three classes separated by the sign of two inputs.
fn data(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let v: Vec<f32> = (0..4).map(|_| rng.normal() as f32).collect();
        y.push(if v[0] > 0.3 {
            0
        } else if v[1] > 0.0 {
            1
        } else {
            2
        });
        x.extend(v);
    }
    Dataset::new(x, y, 4).unwrap()
}

fn config(epochs: usize) -> FitConfig {
    FitConfig {
        epochs,
        batch_size: 16,
        metrics: vec![Metric::Accuracy, Metric::TopK(2)],
        validation: Validation::Split(0.25),
        verbosity: Verbosity::Quiet,
        ..Default::default()
    }
}

fn train(
    model: &mut Clf<Cpu>,
    opt: &mut Adam<Clf<Cpu>, Cpu>,
    cfg: &FitConfig,
    cbs: &mut [&mut dyn Callback<Clf<Cpu>>],
) -> shapeflow::Result<shapeflow::fit::History> {
    fit::<_, (Dyn, Const<4>), Const<3>, Cpu, _>(
        model,
        opt,
        &Cpu::default(),
        &data(400, 1),
        cfg,
        cbs,
    )
}

#[test]
fn fit_logs_every_metric_per_epoch_and_learns() {
    let mut m = Clf::<Cpu>::new(&Cpu::default(), 0);
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.01, ..Default::default() });
    let h = train(&mut m, &mut opt, &config(8), &mut []).unwrap();
    assert_eq!(h.len(), 8);
    let keys: Vec<&String> = h.epochs()[0].keys().collect();
    assert_eq!(
        keys,
        [
            "accuracy",
            "loss",
            "lr",
            "time_s",
            "top_2_accuracy",
            "val_accuracy",
            "val_loss",
            "val_top_2_accuracy"
        ]
    );
    let loss = h.get("loss");
    assert!(loss[7] < 0.6 * loss[0], "{loss:?}");
    assert!(h.last("val_accuracy").unwrap() > 0.85, "{:?}", h.get("val_accuracy"));
    assert!(h.get("top_2_accuracy").iter().zip(h.get("accuracy")).all(|(t2, t1)| *t2 >= t1));
    let plot = tmp("history.svg");
    h.plot(&plot).unwrap();
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg") && svg.contains("validation loss"), "the plot has both curves");
}

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() {
    let mut m = Clf::<Cpu>::new(&Cpu::default(), 0);
    // A zero learning rate: the validation loss never improves after the first epoch.
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.0, ..Default::default() });
    let mut es = EarlyStopping::new("val_loss", 2);
    let h = train(&mut m, &mut opt, &config(10), &mut [&mut es]).unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(es.stopped_epoch, Some(3));
}

#[test]
fn early_stopping_can_restore_the_best_epochs_weights() {
    use shapeflow::fit::Mode;
    let mut m = Clf::<Cpu>::new(&Cpu::default(), 0);
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.02, ..Default::default() });
    // "Higher loss is better": the first epoch is the best, training stops after epoch 3.
    let mut es = EarlyStopping::new("loss", 2).restore_best_weights();
    es.mode = Mode::Max;
    let best = tmp("restore-best.safetensors");
    let mut ckpt = ModelCheckpoint::new(&best, "loss");
    ckpt.mode = Mode::Max;
    let h = train(&mut m, &mut opt, &config(10), &mut [&mut ckpt, &mut es]).unwrap();
    assert_eq!((h.len(), es.stopped_epoch, es.best_epoch), (3, Some(3), Some(1)));
    let mut first = Clf::<Cpu>::new(&Cpu::default(), 7);
    shapeflow::checkpoint::load(&mut first, &best).unwrap();
    assert_eq!(m.fc1.weight.to_vec(), first.fc1.weight.to_vec(), "epoch 1's weights are back");
    // Without the option the model keeps its last weights.
    let mut m2 = Clf::<Cpu>::new(&Cpu::default(), 0);
    let mut opt = Adam::new(&m2, AdamConfig { lr: 0.02, ..Default::default() });
    let mut es = EarlyStopping::new("loss", 2);
    es.mode = Mode::Max;
    train(&mut m2, &mut opt, &config(10), &mut [&mut es]).unwrap();
    assert_ne!(m2.fc1.weight.to_vec(), first.fc1.weight.to_vec());
}

#[test]
fn model_checkpoint_keeps_the_best_model_and_schedules_set_the_lr() {
    let mut m = Clf::<Cpu>::new(&Cpu::default(), 0);
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.02, ..Default::default() });
    let best = tmp("best.safetensors");
    let mut ckpt = ModelCheckpoint::new(&best, "val_accuracy");
    let mut sched = LrScheduler::per_epoch(StepLr { step_size: 2, gamma: 0.5 });
    let mut seen = Vec::new();
    let mut mine = |ctx: &mut EpochContext<'_, Clf<Cpu>>| {
        seen.push((ctx.epoch, ctx.logs["lr"]));
        Ok(())
    };
    let h = train(&mut m, &mut opt, &config(5), &mut [&mut ckpt, &mut sched, &mut mine]).unwrap();
    assert_eq!(h.get("lr"), vec![0.02, 0.02, 0.01, 0.01, 0.005]);
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    let best_epoch = ckpt.best_epoch.unwrap();
    let val = h.get("val_accuracy");
    assert_eq!(val[best_epoch - 1], val.iter().cloned().fold(f64::MIN, f64::max));
    let mut restored = Clf::<Cpu>::new(&Cpu::default(), 7);
    shapeflow::checkpoint::load(&mut restored, &best).unwrap();
}

#[test]
fn resuming_from_a_training_checkpoint_is_bitwise_identical() {
    let dev = Cpu::default();
    let straight = {
        let mut m = Clf::<Cpu>::new(&dev, 3);
        let mut opt = Adam::new(&m, AdamConfig::default());
        let h = train(&mut m, &mut opt, &config(4), &mut []).unwrap();
        (m.fc1.weight.to_vec(), m.fc2.bias.as_ref().unwrap().to_vec(), h.get("loss"))
    };
    let path = tmp("resume.safetensors");
    let _ = std::fs::remove_file(&path);
    let mut cfg = FitConfig { checkpoint: Some(path.clone()), resume: true, ..config(2) };
    {
        let mut m = Clf::<Cpu>::new(&dev, 3);
        let mut opt = Adam::new(&m, AdamConfig::default());
        train(&mut m, &mut opt, &cfg, &mut []).unwrap();
    }
    // A fresh process: new model and optimizer, everything else from the checkpoint.
    cfg.epochs = 4;
    let mut m = Clf::<Cpu>::new(&dev, 999);
    let mut opt = Adam::new(&m, AdamConfig::default());
    let h = train(&mut m, &mut opt, &cfg, &mut []).unwrap();
    assert_eq!(h.len(), 4);
    assert_eq!(m.fc1.weight.to_vec(), straight.0);
    assert_eq!(m.fc2.bias.as_ref().unwrap().to_vec(), straight.1);
    assert_eq!(h.get("loss"), straight.2);
    assert_eq!(m.drop.p, 0.2);
}

#[test]
fn a_nan_loss_is_an_error_naming_epoch_and_batch() {
    let cfg = FitConfig { shuffle: false, validation: Validation::None, ..config(1) };
    let e = fit_with_a_nan_at(20, &cfg);
    assert!(e.contains("epoch 1, batch 2") && e.contains("NaN"), "{e}");
}

/// The error of training `Clf` on 64 samples of which sample `at` holds a NaN.
fn fit_with_a_nan_at(at: usize, cfg: &FitConfig) -> String {
    let mut x = vec![0.5f32; 64 * 4];
    x[at * 4] = f32::NAN;
    let ds = Dataset::new(x, vec![0; 64], 4).unwrap();
    let mut m = Clf::<Cpu>::new(&Cpu::default(), 0);
    let mut opt = Adam::new(&m, AdamConfig::default());
    fit::<_, (Dyn, Const<4>), Const<3>, Cpu, _>(
        &mut m,
        &mut opt,
        &Cpu::default(),
        &ds,
        cfg,
        &mut [],
    )
    .unwrap_err()
    .to_string()
}

model! {
    /// Linear regression.
    pub struct Reg {
        input: [3],
        fc: Linear<3, 2>,
    }
}

#[test]
fn regression_with_mse_loss_and_mse_mae_metrics() {
    let mut rng = Rng::new(5);
    let (mut x, mut t) = (Vec::new(), Vec::new());
    for _ in 0..256 {
        let v: Vec<f32> = (0..3).map(|_| rng.normal() as f32).collect();
        t.extend([v[0] - 2.0 * v[1], 0.5 * v[2] + 1.0]);
        x.extend(v);
    }
    let ds = Dataset::regression(x, t, 3, 2).unwrap();
    let dev = Cpu::default();
    let mut m = Reg::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.05, ..Default::default() });
    let cfg = FitConfig {
        epochs: 30,
        loss: LossFn::Mse,
        metrics: vec![Metric::Mse, Metric::Mae],
        clip_grad_norm: Some(10.0),
        verbosity: Verbosity::Quiet,
        ..Default::default()
    };
    let h = fit::<_, (Dyn, Const<3>), Const<2>, Cpu, _>(&mut m, &mut opt, &dev, &ds, &cfg, &mut [])
        .unwrap();
    assert!(h.last("mse").unwrap() < 1e-3, "{:?}", h.get("mse"));
    // The MSE metric is the loss itself.
    let (loss, mse) = (h.get("loss"), h.get("mse"));
    assert!(loss.iter().zip(&mse).all(|(a, b)| (a - b).abs() < 1e-6 * a.max(1e-3)));
    assert!(h.last("mae").unwrap() < 0.05);
}

#[test]
fn a_resumed_run_continues_its_learning_rate_schedule() {
    let path = tmp("resume-schedule.safetensors");
    let _ = std::fs::remove_file(&path);
    let mut cfg = FitConfig { checkpoint: Some(path.clone()), resume: true, ..config(2) };
    let lr = AdamConfig { lr: 0.04, ..Default::default() };
    {
        let mut m = Clf::<Cpu>::new(&Cpu::default(), 3);
        let mut opt = Adam::new(&m, lr);
        let mut sched = LrScheduler::per_epoch(StepLr { step_size: 1, gamma: 0.5 });
        train(&mut m, &mut opt, &cfg, &mut [&mut sched]).unwrap();
    }
    cfg.epochs = 4;
    let mut m = Clf::<Cpu>::new(&Cpu::default(), 3);
    let mut opt = Adam::new(&m, lr);
    let mut sched = LrScheduler::per_epoch(StepLr { step_size: 1, gamma: 0.5 });
    let h = train(&mut m, &mut opt, &cfg, &mut [&mut sched]).unwrap();
    assert_eq!(h.get("lr"), vec![0.04, 0.02, 0.01, 0.005]);
}

/// `fit`'s accuracy and `metrics::correct` apply one rule: with all-equal logits only label 0
/// counts (the first maximum), not every label.
#[test]
fn fit_accuracy_and_metrics_correct_agree_on_ties() {
    let dev = Cpu::default();
    let mut fc = Linear::<Const<2>, Const<3>, Cpu>::init(&dev, &mut Rng::new(0));
    fc.weight = Tensor::zeros(&dev, &[3, 2]).unwrap();
    fc.bias = Some(Tensor::zeros(&dev, &[3]).unwrap());
    let ds = Dataset::new(vec![1.0; 8], vec![0, 1, 2, 0], 2).unwrap();
    let cfg = FitConfig { metrics: vec![Metric::Accuracy, Metric::TopK(2)], ..Default::default() };
    let logs = shapeflow::fit::evaluate::<_, (Dyn, Const<2>), Const<3>, Cpu>(&fc, &dev, &ds, &cfg)
        .unwrap();
    assert_eq!(logs["accuracy"], 0.5);
    assert_eq!(logs["top_2_accuracy"], 0.75);
    let x = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 4, vec![1.0; 8]).unwrap();
    let correct = shapeflow::metrics::correct(&fc.forward(&x), &[0, 1, 2, 0]).unwrap();
    assert_eq!(correct, 2);
}

/// A misspelt monitored metric fails before the first epoch, listing the names that exist.
#[test]
fn a_misspelt_monitored_metric_is_an_error_before_training() {
    let dev = Cpu::default();
    let mut model = Clf::<Cpu>::new(&dev, 0);
    let before = model.fc1.weight.to_vec();
    let mut opt = Adam::new(&model, AdamConfig::default());
    let mut stop = EarlyStopping::new("val_acc", 2);
    let err = train(&mut model, &mut opt, &config(3), &mut [&mut stop]).unwrap_err().to_string();
    assert!(err.contains("`val_acc`") && err.contains("`val_accuracy`"), "{err}");
    assert_eq!(model.fc1.weight.to_vec(), before, "no step was taken");
    let no_validation = FitConfig { validation: Validation::None, ..config(1) };
    let mut stop = EarlyStopping::new("val_loss", 2);
    let err =
        train(&mut model, &mut opt, &no_validation, &mut [&mut stop]).unwrap_err().to_string();
    assert!(err.contains("Validation::Split"), "{err}");
}

model! {
    /// One logit: is the point above the line x₀ + x₁ = 0?
    pub struct Binary {
        input: [2],
        fc1: Linear<2, 8>,
        act: Tanh,
        fc2: Linear<8, 1>,
    }
}

/// A binary classifier trains with `fit` and `bce_with_logits`, and reports binary accuracy.
#[test]
fn a_binary_classifier_trains_with_bce_and_binary_accuracy() {
    let mut rng = Rng::new(4);
    let mut x = Vec::new();
    let mut t = Vec::new();
    for _ in 0..400 {
        let (a, b) = (rng.normal() as f32, rng.normal() as f32);
        x.extend([a, b]);
        t.push(if a + b > 0.0 { 1.0 } else { 0.0 });
    }
    let data = Dataset::regression(x, t, 2, 1).unwrap();
    let dev = Cpu::default();
    let mut model = Binary::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&model, AdamConfig { lr: 0.02, ..Default::default() });
    let cfg = FitConfig {
        epochs: 8,
        batch_size: 32,
        loss: LossFn::BceWithLogits,
        metrics: vec![Metric::BinaryAccuracy],
        validation: Validation::ShuffledSplit(0.25, 1),
        verbosity: Verbosity::Quiet,
        ..Default::default()
    };
    let h = fit::<_, (Dyn, Const<2>), Const<1>, Cpu, _>(
        &mut model,
        &mut opt,
        &dev,
        &data,
        &cfg,
        &mut [],
    )
    .unwrap();
    let acc = h.get("val_binary_accuracy");
    assert!(*acc.last().unwrap() > 0.9, "val binary accuracy {acc:?}");
    let loss = h.get("loss");
    assert!(loss.last().unwrap() < &loss[0], "loss {loss:?}");
}

/// `predict_classes` agrees with the accuracy `evaluate` reports, and `predict_proba` rows are
/// distributions whose largest entry is the predicted class.
#[test]
fn predictions_agree_with_evaluate() {
    let dev = Cpu::default();
    let mut model = Clf::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&model, AdamConfig::default());
    train(&mut model, &mut opt, &config(2), &mut []).unwrap();
    let test = data(120, 9);
    type X = (Dyn, Const<4>);
    let classes =
        shapeflow::fit::predict_classes::<_, X, Const<3>, Cpu>(&model, &dev, &test, 32).unwrap();
    let hits = classes.iter().zip(test.labels()).filter(|(c, l)| c == l).count();
    let cfg = FitConfig { metrics: vec![Metric::Accuracy], ..Default::default() };
    let logs = shapeflow::fit::evaluate::<_, X, Const<3>, Cpu>(&model, &dev, &test, &cfg).unwrap();
    assert!((logs["accuracy"] - hits as f64 / 120.0).abs() < 1e-12);
    let same = shapeflow::fit::evaluate_with::<_, X, Const<3>, Cpu>(
        &model,
        &dev,
        &test,
        shapeflow::fit::LossFn::CrossEntropy,
        &[Metric::Accuracy],
    )
    .unwrap();
    assert_eq!(same, logs, "evaluate_with needs no FitConfig and gives the same figures");
    let p = shapeflow::fit::predict_proba::<_, X, Const<3>, Cpu>(&model, &dev, &test, 7).unwrap();
    for (row, &c) in p.chunks(3).zip(&classes) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(row.iter().all(|&v| v <= row[c]));
    }
}

/// Cross-entropy written by hand on the host (log-softmax, mean over rows).
fn my_cross_entropy(b: &shapeflow::fit::LossInput<'_>) -> shapeflow::Result<(f64, Vec<f64>)> {
    let rows = b.outputs.len() / b.width;
    let (mut loss, mut grad) = (0.0, vec![0.0; b.outputs.len()]);
    for (r, row) in b.outputs.chunks(b.width).enumerate() {
        let max = row.iter().cloned().fold(f64::MIN, f64::max);
        let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
        loss += (sum.ln() + max - row[b.labels[r]]) / rows as f64;
        for (c, v) in row.iter().enumerate() {
            let p = (v - max).exp() / sum;
            grad[r * b.width + c] = (p - f64::from(u8::from(c == b.labels[r]))) / rows as f64;
        }
    }
    Ok((loss, grad))
}

#[test]
fn a_custom_loss_trains_as_the_built_in_one_does() {
    use shapeflow::fit::{CustomLoss, LossFn};
    let run = |loss: LossFn| {
        let mut m = Clf::<Cpu>::new(&Cpu::default(), 0);
        let mut opt = Adam::new(&m, AdamConfig { lr: 0.02, ..Default::default() });
        let cfg = FitConfig { loss, ..config(3) };
        train(&mut m, &mut opt, &cfg, &mut []).unwrap().get("val_loss")
    };
    let custom = LossFn::Custom(CustomLoss { name: "my_cross_entropy", f: my_cross_entropy });
    let (theirs, ours) = (run(LossFn::CrossEntropy), run(custom));
    for (a, b) in theirs.iter().zip(&ours) {
        assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "built-in {theirs:?}, custom {ours:?}");
    }
}

#[test]
fn a_custom_loss_with_a_gradient_of_the_wrong_length_is_an_error() {
    use shapeflow::fit::{CustomLoss, LossFn, LossInput};
    fn short(_: &LossInput<'_>) -> shapeflow::Result<(f64, Vec<f64>)> {
        Ok((1.0, vec![0.0; 3]))
    }
    let mut m = Clf::<Cpu>::new(&Cpu::default(), 0);
    let mut opt = Adam::new(&m, AdamConfig::default());
    let cfg =
        FitConfig { loss: LossFn::Custom(CustomLoss { name: "short", f: short }), ..config(1) };
    let e = train(&mut m, &mut opt, &cfg, &mut []).unwrap_err().to_string();
    assert!(
        e.contains("loss `short`: the gradient has 3 values for 48 outputs (16 rows of 3)"),
        "{e}"
    );
}

#[test]
fn empty_and_degenerate_input_is_refused_by_name() {
    let dev = Cpu::default();
    let data = Dataset::new(vec![0.5; 80], (0..20).map(|i| i % 3).collect(), 4).unwrap();
    let empty = Dataset::new(vec![], vec![], 4).unwrap();
    let run = |train: &Dataset, cfg: FitConfig| {
        let mut m = Clf::<Cpu>::new(&dev, 0);
        let mut opt = Sgd::new(&m, SgdConfig::default());
        fit(&mut m, &mut opt, &dev, train, &cfg, &mut []).unwrap_err().to_string()
    };
    let quiet = || FitConfig { epochs: 1, verbosity: Verbosity::Quiet, ..Default::default() };
    assert!(run(&empty, quiet()).contains("the training set has no samples"));
    assert!(run(&data, FitConfig { batch_size: 0, ..quiet() }).contains("`batch_size` is 0"));
    for f in [0.0, 1.0, -0.5, f64::NAN] {
        let e = run(&data, FitConfig { validation: Validation::Split(f), ..quiet() });
        assert!(e.contains("strictly between 0 and 1"), "{f}: {e}");
    }
    let e = run(&data, FitConfig { validation: Validation::Split(0.01), ..quiet() });
    assert!(e.contains("leaves no validation sample from 20 training samples"), "{e}");
    let e = run(&data, FitConfig { validation: Validation::Data(empty.clone()), ..quiet() });
    assert!(e.contains("leaves no validation sample"), "{e}");
    let m = Clf::<Cpu>::new(&dev, 0);
    let e = evaluate(&m, &dev, &empty, &quiet()).unwrap_err().to_string();
    assert!(e.contains("the dataset has no samples"), "{e}");
}

#[test]
fn a_nan_only_in_the_validation_data_says_so() {
    // sample 60 is in the last tenth: the validation split
    let cfg = FitConfig { shuffle: false, validation: Validation::Split(0.1), ..config(1) };
    let e = fit_with_a_nan_at(60, &cfg);
    assert!(e.contains("on the validation data after epoch 1") && e.contains("NaN"), "{e}");
}

#[test]
fn scoring_batches_are_their_own_option_and_do_not_change_the_scores() {
    let dev = Cpu::default();
    let (model, test) = (Clf::<Cpu>::new(&dev, 3), data(100, 9));
    let metrics = vec![Metric::Accuracy];
    let score = |eval_batch_size| {
        let cfg = FitConfig { eval_batch_size, metrics: metrics.clone(), ..Default::default() };
        evaluate::<_, (Dyn, Const<4>), Const<3>, Cpu>(&model, &dev, &test, &cfg).unwrap()
    };
    let (whole, small) = (score(None), score(Some(7)));
    assert!((whole["loss"] - small["loss"]).abs() < 1e-6, "{whole:?} vs {small:?}");
    assert_eq!(whole["accuracy"], small["accuracy"]);
    let mut model = Clf::<Cpu>::new(&dev, 3);
    let mut opt = Adam::new(&model, AdamConfig::default());
    let cfg = FitConfig { eval_batch_size: Some(0), ..config(1) };
    let err = train(&mut model, &mut opt, &cfg, &mut []).unwrap_err().to_string();
    assert_eq!(
        err,
        "configuration error: fit: `eval_batch_size` is Some(0); it must be at least 1 (or None)"
    );
}
