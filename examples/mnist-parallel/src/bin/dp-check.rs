//! The MPI checks `tests/mpirun.rs` runs under `mpirun -np 2`, one mode per run:
//!
//! - `equivalence <mlp|cnn> <fit|loop> <f32|f64> DATA`: every rank trains with batch 64 on a
//!   slice of MNIST; rank 0 then trains one process with batch 128 from the same start and
//!   compares the weights (and, with `fit`, the logs); every rank compares its weights with
//!   rank 0's. Prints `equivalent: …` and exits 0, or names the largest difference and exits 1.
//! - `fail R DATA`: rank R fails before training; the others must be stopped.
//! - `hang R DATA`: rank R hangs; the others must fail within their 3 s timeout.
//! - `nan DATA`: a NaN pixel in rank 1's shard of the first batch: every rank fails, naming it.
//! - `scale DATA`: times training steps of the MLP (batch 64 per rank) and the all-reduce.

use std::time::{Duration, Instant};

use shapeflow::data::{Dataset, Mnist};
use shapeflow::distributed::{Collective, DataParallel, Mpi, Values};
use shapeflow::fit::{FitConfig, FitOutput, History, Metric, Validation, Verbosity, fit};
use shapeflow::optim::Optimizer;
use shapeflow::prelude::*;

use mnist_cnn::LeNet;
use mnist_mlp::Mlp;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = run(&args);
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

type R<T> = Result<T, Box<dyn std::error::Error>>;

fn run(args: &[String]) -> R<()> {
    let mode = args.first().map(String::as_str).unwrap_or("");
    let data = args.last().ok_or("usage: dp-check MODE … DATA")?;
    match mode {
        "equivalence" => {
            let (model, how, elem) = (&args[1], &args[2], &args[3]);
            let dp = DataParallel::new(Mpi::init()?).with_bucket_bytes(64 << 10);
            match (model.as_str(), elem.as_str()) {
                ("mlp", "f32") => equivalence::<Mlp<Cpu>, Cpu, MlpIn>(&dp, how, data, 1e-6),
                ("mlp", "f64") => equivalence::<Mlp<Cpu64>, Cpu64, MlpIn>(&dp, how, data, 1e-12),
                // The f32 CNN is looser: the convolutions' products round differently for 64
                // and 128 samples, and a max-pool window whose two largest values differ by
                // that rounding routes its gradient elsewhere (2e-5 after 8 steps; the f64 CNN
                // agrees to 6e-14, so the averaging itself is exact).
                ("cnn", "f32") => equivalence::<LeNet<Cpu>, Cpu, CnnIn>(&dp, how, data, 1e-4),
                ("cnn", "f64") => equivalence::<LeNet<Cpu64>, Cpu64, CnnIn>(&dp, how, data, 1e-12),
                other => Err(format!("unknown model/element {other:?}").into()),
            }
        }
        "fail" | "hang" => {
            let bad: usize = args[1].parse()?;
            let mpi = Mpi::with_timeout(Duration::from_secs(3))?;
            if mpi.rank() == bad {
                if mode == "fail" {
                    return Err(format!("rank {bad}: simulated failure before training").into());
                }
                eprintln!("rank {bad}: hanging");
                std::thread::sleep(Duration::from_secs(600));
            }
            let train = slice(data, 512)?;
            let dev = Cpu::default();
            let mut model = Mlp::<Cpu>::new(&dev, 1);
            let cfg = config(64, Some(DataParallel::new(mpi)), None);
            let mut opt = Adam::new(&model, AdamConfig::default());
            fit(&mut model, &mut opt, &dev, &train, &cfg, &mut [])?;
            Err("training finished although a rank failed".into())
        }
        "nan" => {
            let mut train = slice(data, 512)?;
            // Sample 100 is in rank 1's shard (64..128) of the first, unshuffled global batch.
            train.inputs_mut()[100 * 784 + 300] = f32::NAN;
            let dev = Cpu::default();
            let mut model = Mlp::<Cpu>::new(&dev, 1);
            let cfg = FitConfig {
                shuffle: false,
                ..config(64, Some(DataParallel::new(Mpi::init()?)), None)
            };
            let mut opt = Adam::new(&model, AdamConfig::default());
            fit(&mut model, &mut opt, &dev, &train, &cfg, &mut [])?;
            Err("training finished despite a NaN input".into())
        }
        "mismatch" => {
            // Rank 1 differs from rank 0 in one thing: both must stop with the same error.
            let mpi = Mpi::with_timeout(Duration::from_secs(20))?;
            let other = mpi.rank() == 1;
            let train = slice(data, if other && args[1] == "data" { 448 } else { 512 })?;
            let batch = if other && args[1] == "batch" { 32 } else { 64 };
            let mut cfg = config(batch, Some(DataParallel::new(mpi)), None);
            if other && args[1] == "seed" {
                cfg.seed += 1;
            }
            let outcome = match (args[1].as_str(), other) {
                ("elem", true) => mismatch::<Mlp<Cpu64>, Cpu64, MlpIn>(&train, &cfg),
                ("model", true) => mismatch::<LeNet<Cpu>, Cpu, CnnIn>(&train, &cfg),
                _ => mismatch::<Mlp<Cpu>, Cpu, MlpIn>(&train, &cfg),
            };
            // Each rank reports its error and exits normally, so that mpirun does not end the
            // other rank before it has printed its own.
            match outcome {
                Err(e) => {
                    // One write, so the two ranks' lines do not interleave.
                    let line = format!("rank {} stopped: {e}\n", usize::from(other));
                    std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes())?;
                    Ok(())
                }
                Ok(()) => Err("training finished although the ranks differ".into()),
            }
        }
        "scale" => scale(data),
        other => Err(format!("unknown mode `{other}`").into()),
    }
}

/// `fit` of a model that must fail before training (the ranks were given different settings).
fn mismatch<M: Net<B, S>, B: Backend + Default, S: Shape>(
    train: &Dataset,
    cfg: &FitConfig,
) -> R<()> {
    let dev = B::default();
    let mut model = M::make(&dev);
    let mut opt = Adam::new(&model, AdamConfig::default());
    fit(&mut model, &mut opt, &dev, train, cfg, &mut [])?;
    Ok(())
}

type MlpIn = (Dyn, Const<784>);
type CnnIn = (Dyn, Const<1>, Const<28>, Const<28>);

/// The last `n` training images, standardised.
fn slice(dir: &str, n: usize) -> R<Dataset> {
    let mut mnist = Mnist::load(dir)?;
    mnist.train.normalize(0.1307, 0.3081);
    let (_, tail) = mnist.train.split(n as f64 / mnist.train.len() as f64);
    Ok(tail)
}

fn config(batch: usize, parallel: Option<DataParallel>, val: Option<Dataset>) -> FitConfig {
    FitConfig {
        epochs: 2,
        batch_size: batch,
        seed: 11,
        metrics: vec![Metric::Accuracy],
        validation: val.map_or(Validation::None, Validation::Data),
        verbosity: Verbosity::Quiet,
        parallel,
        ..Default::default()
    }
}

/// The two models checked, with what `fit` and the data-parallel step need of them.
trait Net<B: Backend, S: Shape>:
    Layer<S, B, Cache: Send + Sync, Output: FitOutput<Const<10>, B>> + Module<B> + Send + Sync + Sized
{
    fn make(dev: &B) -> Self;
}
impl<B: Backend> Net<B, MlpIn> for Mlp<B> {
    fn make(dev: &B) -> Self {
        Mlp::new(dev, 5)
    }
}
impl<B: Backend> Net<B, CnnIn> for LeNet<B> {
    fn make(dev: &B) -> Self {
        LeNet::new(dev, 5)
    }
}

fn weights<M: Module<B>, B: Backend>(m: &M) -> Vec<f64> {
    let mut v = Vec::new();
    m.visit_params(&mut String::new(), &mut |_, _, s| {
        v.extend(B::to_host(s).into_iter().map(Elem::as_f64))
    });
    v
}

/// max |a − b| / max |b|.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    diff / b.iter().map(|v| v.abs()).fold(f64::MIN_POSITIVE, f64::max)
}

/// Trains `M` data-parallel (batch 64 per rank) or in one process (batch 128), by `fit` or a
/// hand-written loop; the weights and, for `fit`, the history.
fn train<M, B, S>(
    dev: &B,
    dp: Option<&DataParallel>,
    how: &str,
    train: &Dataset,
    val: &Dataset,
) -> R<(Vec<f64>, Option<History>)>
where
    M: Net<B, S>,
    B: Backend,
    S: Shape,
{
    let mut model = M::make(dev);
    // Adam in f64; SGD with momentum in f32, where Adam's m/√v turns the rounding of
    // near-zero gradients into whole steps (7e-5 apart after 8 steps, with either batching).
    let mut opt: Box<dyn Optimizer<M> + Send> = if <B::Elem as Elem>::BYTES == 8 {
        Box::new(Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() }))
    } else {
        Box::new(Sgd::new(&model, SgdConfig { lr: 0.05, momentum: 0.9, ..Default::default() }))
    };
    let batch = if dp.is_some() { 64 } else { 128 };
    if how == "fit" {
        let cfg = config(batch, dp.cloned(), Some(val.clone()));
        let h = fit::<M, S, Const<10>, B, _>(&mut model, &mut *opt, dev, train, &cfg, &mut [])?;
        return Ok((weights::<M, B>(&model), Some(h)));
    }
    let local = DataParallel::new(shapeflow::distributed::Local);
    let dp = dp.unwrap_or(&local);
    dp.broadcast_model(&mut model)?;
    let mut rng = Rng::new(3);
    for _epoch in 0..2 {
        for global in train.batches(64 * 2, &mut rng) {
            let shard = dp.shard(&global);
            let x = shard.batch.inputs_tensor::<S, B>(dev)?;
            let (y, cache) = model.forward_train(&x);
            let (y, rows) = M::Output::rows(y);
            let (loss, dy) = cross_entropy(&y, &shard.batch.labels[..])?;
            dp.check_loss(Ok(loss), &shard)?;
            let dy = M::Output::unrows(dy, &rows);
            let grads = dp.backward(&model, &cache, &dy, &shard)?;
            opt.step(&mut model, &grads)?;
        }
    }
    Ok((weights::<M, B>(&model), None))
}

fn equivalence<M, B, S>(dp: &DataParallel, how: &str, data: &str, tol: f64) -> R<()>
where
    M: Net<B, S>,
    B: Backend + Default,
    S: Shape,
{
    let all = slice(data, 640)?;
    let (train_set, val) = all.split(0.2);
    let dev = B::default();
    let (mine, history) = train::<M, B, S>(&dev, Some(dp), how, &train_set, &val)?;
    // Every rank holds rank 0's weights.
    let zero = match dp.engine().broadcast(Values::F64(mine.clone()), 0).wait()? {
        Values::F64(v) => v,
        _ => return Err("broadcast returned another type".into()),
    };
    let across = relative(&mine, &zero);
    if across != 0.0 {
        return Err(
            format!("rank {}: weights differ from rank 0's by {across:e}", dp.rank()).into()
        );
    }
    let verdict = if dp.is_main() {
        compare::<M, B, S>(&mine, history, how, &train_set, &val, tol, dp.world())
    } else {
        Ok(String::new())
    };
    // Every rank ends together (MPI_Finalize waits for all), with rank 0's verdict.
    let ok = f64::from(u8::from(verdict.is_ok() || !dp.is_main()));
    let all_ok = match dp.engine().broadcast(Values::F64(vec![ok]), 0).wait()? {
        Values::F64(v) => v[0] == 1.0,
        _ => false,
    };
    match verdict {
        Ok(line) if dp.is_main() => println!("{line}"),
        Err(e) => return Err(e),
        _ if !all_ok => return Err("rank 0 found a difference".into()),
        _ => {}
    }
    Ok(())
}

fn compare<M, B, S>(
    mine: &[f64],
    history: Option<History>,
    how: &str,
    train_set: &Dataset,
    val: &Dataset,
    tol: f64,
    world: usize,
) -> R<String>
where
    M: Net<B, S>,
    B: Backend + Default,
    S: Shape,
{
    let dev = B::default();
    let (one, one_history) = train::<M, B, S>(&dev, None, how, train_set, val)?;
    let rel = relative(mine, &one);
    let mut logs = String::new();
    if let (Some(h), Some(o)) = (history, one_history) {
        for key in ["loss", "accuracy", "val_loss", "val_accuracy"] {
            let r = relative(&h.get(key), &o.get(key));
            logs += &format!(" {key} {r:.1e}");
            if r > tol {
                return Err(format!("`{key}` differs: {:?} vs {:?}", h.get(key), o.get(key)).into());
            }
        }
    }
    let steps = if how == "fit" { "fit" } else { "hand-written loop" };
    if rel > tol {
        return Err(format!(
            "{steps}: 2 ranks × 64 vs 1 × 128 differ by {rel:e} (tolerance {tol:e})"
        )
        .into());
    }
    Ok(format!(
        "equivalent: {steps}, {world} ranks × 64 vs 1 × 128, weights {rel:.1e} (tolerance {tol:.0e}){logs}"
    ))
}

/// Samples/s of MLP training steps (batch 64 per rank) and the all-reduce wait per step.
fn scale(data: &str) -> R<()> {
    let dp = DataParallel::new(Mpi::init()?);
    let train = slice(data, 64 * dp.world() * 40)?;
    let dev = Cpu::default();
    let mut model = Mlp::<Cpu>::new(&dev, 1);
    let cfg = FitConfig { epochs: 1, ..config(64, Some(dp.clone()), None) };
    // One epoch to warm up, one timed.
    let mut opt = Adam::new(&model, AdamConfig::default());
    fit(&mut model, &mut opt, &dev, &train, &cfg, &mut [])?;
    let before = dp.stats();
    let start = Instant::now();
    let mut opt = Adam::new(&model, AdamConfig::default());
    fit(&mut model, &mut opt, &dev, &train, &cfg, &mut [])?;
    let seconds = start.elapsed().as_secs_f64();
    let s = dp.stats();
    let steps = (s.steps - before.steps).max(1) as f64;
    if dp.is_main() {
        println!(
            "ranks {} | samples/s {:.0} | step {:.2} ms | backward {:.2} ms | all-reduce wait {:.3} ms | {:.2} MB per step in {} bucket(s)",
            dp.world(),
            train.len() as f64 / seconds,
            1e3 * seconds / steps,
            1e3 * (s.backward_s - before.backward_s) / steps,
            1e3 * (s.wait_s - before.wait_s) / steps,
            (s.bytes - before.bytes) as f64 / steps / 1e6,
            (s.buckets - before.buckets) / steps as u64,
        );
    }
    Ok(())
}
