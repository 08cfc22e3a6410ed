//! Data-parallel `fit` and hand-written loops, with ranks as threads ([`ThreadGroup`]): the
//! weights and logs of N ranks on batch b each equal one process on batch N·b, however the
//! last batch splits; a rank whose loss is not finite, a rank that stops, a checkpoint from
//! another world size are each the same clear `Err`. The MPI runs are in
//! `distributed/tests/mpirun.rs`.

use std::time::Duration;

use shapeflow::data::Dataset;
use shapeflow::distributed::{Collective, DataParallel, ThreadGroup};
use shapeflow::fit::{FitConfig, History, Metric, Validation, Verbosity, fit};
use shapeflow::prelude::*;

model! {
    /// A small MLP in f64.
    pub struct Net {
        input: [4],
        fc1: Linear<4, 16>,
        act: Tanh,
        fc2: Linear<16, 3>,
    }
}

model! {
    /// A small CNN: convolution, pooling, a linear head.
    pub struct Cnn {
        input: [1, 6, 6],
        conv: Conv2d<1, 4, 3, padding = 1>,
        act: Relu,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<36, 3>,
    }
}

model! {
    /// Batch norm and dropout: state that is not a parameter.
    pub struct Stateful {
        input: [4],
        fc1: Linear<4, 16>,
        bn: BatchNorm1d<16>,
        act: Relu,
        drop: Dropout<0.3>,
        fc2: Linear<16, 3>,
    }
}

fn data(n: usize, features: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let x: Vec<f32> = (0..n * features).map(|_| rng.normal() as f32).collect();
    let y = (0..n)
        .map(|i| usize::from(x[i * features] > 0.0) + usize::from(x[i * features + 1] > 0.5))
        .collect();
    Dataset::new(x, y, features).unwrap()
}

fn config(batch: usize, epochs: usize) -> FitConfig {
    FitConfig {
        epochs,
        batch_size: batch,
        seed: 7,
        metrics: vec![Metric::Accuracy],
        validation: Validation::Split(0.2),
        verbosity: Verbosity::Quiet,
        ..Default::default()
    }
}

fn weights<M: Module<Cpu64>>(m: &M) -> Vec<f64> {
    let mut v = Vec::new();
    m.visit_params(&mut String::new(), &mut |_, _, s| v.extend(<Cpu64 as Device>::to_host(s)));
    v
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let scale = x.abs().max(y.abs()).max(1.0);
        assert!((x - y).abs() <= tol * scale, "{what}[{i}]: {x} vs {y}");
    }
}

fn assert_same_history(a: &History, b: &History) {
    for key in ["loss", "accuracy", "val_loss", "val_accuracy"] {
        let (x, y) = (a.get(key), b.get(key));
        assert_eq!(x.len(), y.len(), "{key}");
        assert_close(&x, &y, 1e-12, key);
    }
}

/// `world` ranks as threads, each fitting a copy of the model built from `seed`.
fn fit_ranks(
    world: usize,
    batch: usize,
    epochs: usize,
    train: &Dataset,
) -> Vec<(Vec<f64>, History)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(world)
            .into_iter()
            .map(|rank| {
                s.spawn(move || {
                    let dev = Cpu64::default();
                    // Each rank starts from different weights: broadcast must fix that.
                    let mut model = Net::<Cpu64>::new(&dev, 3 + rank.rank() as u64 * 100);
                    let opt = &mut Adam::new(&model, AdamConfig { lr: 0.01, ..Default::default() });
                    let cfg = FitConfig {
                        parallel: Some(DataParallel::new(rank).with_bucket_bytes(256)),
                        ..config(batch, epochs)
                    };
                    let h = fit(&mut model, opt, &dev, train, &cfg, &mut []).unwrap();
                    (weights(&model), h)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn fit_one(batch: usize, epochs: usize, train: &Dataset) -> (Vec<f64>, History) {
    let dev = Cpu64::default();
    let mut model = Net::<Cpu64>::new(&dev, 3);
    let opt = &mut Adam::new(&model, AdamConfig { lr: 0.01, ..Default::default() });
    let h = fit(&mut model, opt, &dev, train, &config(batch, epochs), &mut []).unwrap();
    (weights(&model), h)
}

#[test]
fn two_ranks_of_8_equal_one_process_of_16() {
    let train = data(150, 4, 1);
    let (one, h1) = fit_one(16, 3, &train);
    for (w, h) in fit_ranks(2, 8, 3, &train) {
        assert_close(&w, &one, 1e-12, "weights");
        assert_same_history(&h, &h1);
    }
}

#[test]
fn uneven_last_batches_and_idle_ranks_still_match() {
    // 3 ranks × 4 = 12 per global batch; 30 training samples leave a last batch of 6
    // (2 each); 13 leave 1: two ranks compute a stand-in sample that must not count.
    for n in [38, 17] {
        let train = data(n, 4, 2);
        let (one, h1) = fit_one(12, 2, &train);
        for (w, h) in fit_ranks(3, 4, 2, &train) {
            assert_close(&w, &one, 1e-12, "weights");
            assert_same_history(&h, &h1);
        }
    }
}

#[test]
fn a_cnn_in_a_hand_written_loop_matches_one_process() {
    let train = data(40, 36, 3);
    let step_all = |dp: Option<DataParallel>| -> Vec<f64> {
        let dev = Cpu64::default();
        let mut model = Cnn::<Cpu64>::new(&dev, 5 + dp.as_ref().map_or(0, |d| d.rank() as u64));
        let dp = dp.unwrap_or_else(|| DataParallel::new(shapeflow::distributed::Local));
        dp.broadcast_model(&mut model).unwrap();
        let mut opt = Sgd::new(&model, SgdConfig { lr: 0.05, momentum: 0.9, ..Default::default() });
        for global in train.batches(12, &mut Rng::new(9)) {
            let shard = dp.shard(&global);
            let x = shard
                .batch
                .inputs_tensor::<(Dyn, Const<1>, Const<6>, Const<6>), Cpu64>(&dev)
                .unwrap();
            let (y, cache) = model.forward_train(&x);
            let (loss, dy) = cross_entropy(&y, &shard.batch.labels[..]).unwrap();
            dp.check_loss(Ok(loss), &shard).unwrap();
            let grads = dp.backward(&model, &cache, &dy, &shard).unwrap();
            opt.step(&mut model, &grads).unwrap();
        }
        weights(&model)
    };
    let one = step_all(None);
    let ranks: Vec<Vec<f64>> = std::thread::scope(|s| {
        let hs: Vec<_> = ThreadGroup::new(2)
            .into_iter()
            .map(|r| s.spawn(move || step_all(Some(DataParallel::new(r).with_bucket_bytes(64)))))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for w in ranks {
        assert_close(&w, &one, 1e-12, "cnn weights");
    }
}

#[test]
fn a_non_finite_loss_on_one_rank_stops_every_rank_with_its_name() {
    let mut train = data(64, 4, 4);
    // No shuffling: the first global batch is samples 0..16, rank 1 holds 8..16.
    train.inputs_mut()[9 * 4] = f32::NAN;
    let errors: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = ThreadGroup::new(2)
            .into_iter()
            .map(|rank| {
                let train = &train;
                s.spawn(move || {
                    let dev = Cpu64::default();
                    let mut model = Net::<Cpu64>::new(&dev, 3);
                    let opt = &mut Adam::new(&model, AdamConfig::default());
                    let cfg = FitConfig {
                        shuffle: false,
                        validation: Validation::None,
                        parallel: Some(DataParallel::new(rank)),
                        ..config(8, 1)
                    };
                    fit(&mut model, opt, &dev, train, &cfg, &mut []).unwrap_err().to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        errors[0],
        "non-finite value: epoch 1, batch 1: the loss is not finite on rank 1 (which printed its \
         value); every rank stops"
    );
    assert!(
        errors[1]
            .starts_with("non-finite value: epoch 1, batch 1: rank 1: cross-entropy loss is NaN"),
        "{}",
        errors[1]
    );
}

#[test]
fn a_rank_that_stops_makes_the_others_fail_within_the_timeout() {
    let train = data(64, 4, 5);
    let mut ranks = ThreadGroup::with_timeout(2, Duration::from_millis(500));
    let _gone = ranks.pop();
    let dev = Cpu64::default();
    let mut model = Net::<Cpu64>::new(&dev, 3);
    let opt = &mut Adam::new(&model, AdamConfig::default());
    let cfg = FitConfig { parallel: Some(DataParallel::new(ranks.remove(0))), ..config(8, 1) };
    let start = std::time::Instant::now();
    let e = fit(&mut model, opt, &dev, &train, &cfg, &mut []).unwrap_err().to_string();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(e.contains("no answer from the other ranks within 0.5 s"), "{e}");
}

#[test]
fn resuming_needs_the_same_number_of_ranks_and_continues_exactly() {
    let dir = std::env::temp_dir().join(format!("shapeflow-dp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("training.safetensors");
    let _ = std::fs::remove_file(&path);
    let train = data(100, 4, 6);
    let run = |world: usize, epochs: usize| -> Vec<Result<Vec<f64>, String>> {
        std::thread::scope(|s| {
            let hs: Vec<_> = ThreadGroup::new(world)
                .into_iter()
                .map(|rank| {
                    let (train, path) = (&train, &path);
                    s.spawn(move || {
                        let dev = Cpu64::default();
                        let mut model = Net::<Cpu64>::new(&dev, 3);
                        let opt =
                            &mut Adam::new(&model, AdamConfig { lr: 0.01, ..Default::default() });
                        let cfg = FitConfig {
                            checkpoint: Some(path.clone()),
                            resume: true,
                            parallel: Some(DataParallel::new(rank)),
                            ..config(8, epochs)
                        };
                        fit(&mut model, opt, &dev, train, &cfg, &mut [])
                            .map(|_| weights(&model))
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    run(2, 1).into_iter().for_each(|r| assert!(r.is_ok()));
    let resumed = run(2, 3);
    let e = run(3, 4).remove(0).unwrap_err();
    assert!(e.contains("written by a run on 2 rank(s); resume it with 2 (this run has 3)"), "{e}");
    let (one, _) = fit_one(16, 3, &train);
    for w in resumed {
        assert_close(&w.unwrap(), &one, 1e-12, "resumed weights");
    }
}

/// Per rank: the batch-norm statistics, the dropout counters, the weights.
type RankState = (Vec<f64>, Vec<u64>, Vec<f64>);

fn fit_stateful(
    world: usize,
    epochs: usize,
    path: &std::path::Path,
    train: &Dataset,
) -> Vec<RankState> {
    std::thread::scope(|s| {
        let hs: Vec<_> = ThreadGroup::new(world)
            .into_iter()
            .map(|rank| {
                s.spawn(move || {
                    let dev = Cpu64::default();
                    let mut model = Stateful::<Cpu64>::new(&dev, 3);
                    let opt = &mut Adam::new(&model, AdamConfig { lr: 0.01, ..Default::default() });
                    let cfg = FitConfig {
                        checkpoint: Some(path.to_path_buf()),
                        resume: true,
                        parallel: Some(DataParallel::new(rank)),
                        ..config(8, epochs)
                    };
                    fit(&mut model, opt, &dev, train, &cfg, &mut []).unwrap();
                    let mut stats = Vec::new();
                    model.bn.visit_state(&mut String::new(), &mut |n, e| {
                        if let shapeflow::module::StateRef::Tensor(_, st) = e
                            && n.starts_with("running")
                        {
                            stats.extend(<Cpu64 as Device>::to_host(st));
                        }
                    });
                    let mut counters = Vec::new();
                    model.visit_rng(&mut String::new(), &mut |_, c| counters.push(*c));
                    (stats, counters, weights(&model))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn batch_norm_statistics_agree_and_dropout_masks_differ_across_ranks() {
    let dir = std::env::temp_dir().join(format!("shapeflow-dp-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.safetensors"), dir.join("b.safetensors"));
    let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
    let train = data(120, 4, 8);
    let straight = fit_stateful(2, 3, &a, &train);
    // Every rank validates and saves rank 0's statistics; the ranks' mask streams are apart.
    assert!(!straight[0].0.is_empty());
    assert_eq!(straight[0].0, straight[1].0, "running statistics");
    assert_eq!(straight[1].1[0], straight[0].1[0] + (1 << 40), "dropout counters");
    assert_eq!(straight[0].2, straight[1].2, "weights");
    // Interrupted after one epoch and resumed: the same run, masks included.
    fit_stateful(2, 1, &b, &train);
    let resumed = fit_stateful(2, 3, &b, &train);
    for (r, s) in resumed.iter().zip(&straight) {
        assert_eq!(r, s, "resumed run");
    }
}

/// Runs `rank_fit(rank)` on two ranks (threads) and returns each rank's error.
fn both_fail(rank_fit: impl Fn(usize, DataParallel) -> String + Sync) -> Vec<String> {
    std::thread::scope(|s| {
        let rank_fit = &rank_fit;
        let hs: Vec<_> = ThreadGroup::with_timeout(2, Duration::from_secs(20))
            .into_iter()
            .enumerate()
            .map(|(r, engine)| s.spawn(move || rank_fit(r, DataParallel::new(engine))))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `fit` of `Net` in f64 on `train` with `cfg` plus the group; the error it returns.
fn net_error(dp: DataParallel, train: &Dataset, cfg: FitConfig) -> String {
    let dev = Cpu64::default();
    let mut model = Net::<Cpu64>::new(&dev, 3);
    let opt = &mut Adam::new(&model, AdamConfig::default());
    let cfg = FitConfig { parallel: Some(dp), ..cfg };
    fit(&mut model, opt, &dev, train, &cfg, &mut []).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn ranks_with_different_configurations_stop_with_the_same_error_naming_the_field() {
    let (train, short) = (data(64, 4, 6), data(48, 4, 6));
    // Each rank's configuration, and whether it trains on the shorter dataset.
    type PerRank = Box<dyn Fn(usize) -> (FitConfig, bool) + Sync>;
    let cases: Vec<(&str, PerRank)> = vec![
        ("`batch_size` differs between ranks: 8 on rank 0, 16 on rank 1", {
            Box::new(|r| (config(if r == 0 { 8 } else { 16 }, 1), false))
        }),
        ("`epochs` differs between ranks: 1 on rank 0, 3 on rank 1", {
            Box::new(|r| (config(8, if r == 0 { 1 } else { 3 }), false))
        }),
        ("`seed` differs between ranks: 7 on rank 0, 8 on rank 1", {
            Box::new(|r| (FitConfig { seed: 7 + r as u64, ..config(8, 1) }, false))
        }),
        ("`training samples` differs between ranks: 64 on rank 0, 48 on rank 1", {
            Box::new(|r| (config(8, 1), r == 1))
        }),
        ("`validation` differs between ranks: Split(0.2) on rank 0, None on rank 1", {
            Box::new(|r| {
                let v = if r == 0 { Validation::Split(0.2) } else { Validation::None };
                (FitConfig { validation: v, ..config(8, 1) }, false)
            })
        }),
    ];
    for (want, case) in cases {
        let errors = both_fail(|r, dp| {
            let (cfg, use_short) = case(r);
            net_error(dp, if use_short { &short } else { &train }, cfg)
        });
        assert_eq!(errors[0], errors[1], "the same error on every rank");
        assert_eq!(
            errors[0],
            format!(
                "data-parallel training: {want}; every rank must run the same model, optimizer and configuration"
            )
        );
    }
}

model! {
    /// `Net` with a wider hidden layer.
    pub struct Wide { input: [4], fc1: Linear<4, 32>, act: Tanh, fc2: Linear<32, 3> }
}

#[test]
fn ranks_with_different_models_or_element_types_never_reach_an_all_reduce() {
    let train = data(64, 4, 7);
    // Another model on rank 1.
    let errors = both_fail(|r, dp| {
        if r == 0 {
            return net_error(dp, &train, config(8, 1));
        }
        let dev = Cpu64::default();
        let mut model = Wide::<Cpu64>::new(&dev, 3);
        let opt = &mut Adam::new(&model, AdamConfig::default());
        let cfg = FitConfig { parallel: Some(dp), ..config(8, 1) };
        fit(&mut model, opt, &dev, &train, &cfg, &mut []).map(|_| ()).unwrap_err().to_string()
    });
    assert_eq!(errors[0], errors[1]);
    assert!(
        errors[0].contains("`the model's parameter and buffer values` differs between ranks: 131 on rank 0, 259 on rank 1"),
        "{}",
        errors[0]
    );
    // The same model in f32 on rank 1.
    let errors = both_fail(|r, dp| {
        if r == 0 {
            return net_error(dp, &train, config(8, 1));
        }
        let dev = Cpu::default();
        let mut model = Net::<Cpu>::new(&dev, 3);
        let opt = &mut Adam::new(&model, AdamConfig::default());
        let cfg = FitConfig { parallel: Some(dp), ..config(8, 1) };
        fit(&mut model, opt, &dev, &train, &cfg, &mut []).map(|_| ()).unwrap_err().to_string()
    });
    assert_eq!(errors[0], errors[1]);
    assert!(
        errors[0].contains("`element type` differs between ranks: f64 on rank 0, f32 on rank 1"),
        "{}",
        errors[0]
    );
    // A hand-written loop: `broadcast_model` compares the models first.
    let errors = both_fail(|r, dp| {
        let dev = Cpu64::default();
        if r == 0 {
            let mut model = Net::<Cpu64>::new(&dev, 3);
            dp.broadcast_model(&mut model).unwrap_err().to_string()
        } else {
            let mut model = Wide::<Cpu64>::new(&dev, 3);
            dp.broadcast_model(&mut model).unwrap_err().to_string()
        }
    });
    assert_eq!(errors[0], errors[1]);
    assert!(errors[0].contains("differs between ranks"), "{}", errors[0]);
}

#[test]
fn a_rank_that_fails_its_own_checks_stops_the_others_at_once() {
    let train = data(64, 4, 8);
    let start = std::time::Instant::now();
    let errors = both_fail(|r, dp| {
        // Rank 1 asks for batches of 0 samples.
        let cfg = config(if r == 0 { 8 } else { 0 }, 1);
        net_error(dp, &train, cfg)
    });
    assert!(start.elapsed() < Duration::from_secs(10), "not a timeout");
    assert_eq!(
        errors[0],
        "data-parallel training: rank 1 failed before training (see its own error); every rank stops"
    );
    assert_eq!(errors[1], "configuration error: fit: `batch_size` is 0; it must be at least 1");
}
