//! Keras-style training: [`fit`] runs epochs of shuffled batches with a progress bar, evaluates
//! metrics on training and validation data, calls callbacks (early stopping, best-model
//! checkpoints, learning-rate schedules, your own), and returns a [`History`]. With
//! [`FitConfig::checkpoint`] it saves a training checkpoint after every epoch, and
//! [`FitConfig::resume`] continues from one exactly where it stopped.

mod autograd_loss;
mod callbacks;
mod evaluate;
mod history;
mod history_plot;
mod metrics;
mod output;
mod predict;
mod profile_step;
mod progress;
mod run_fields;
mod state;

pub use autograd_loss::{AutogradLoss, AutogradLossFn, LossBatch};
pub use callbacks::{
    Callback, EarlyStopping, EpochContext, LrScheduler, Mode, ModelCheckpoint, Weights,
};
pub use evaluate::{evaluate, evaluate_with};
pub use history::{EpochLogs, History};
pub use metrics::{CustomLoss, LossFn, LossInput, Metric};
pub use output::{FitOutput, RowIndex};
pub use predict::{predict, predict_classes, predict_proba};
pub use profile_step::ProfileStep;
pub use progress::Verbosity;

use std::path::PathBuf;
use std::time::Instant;

use crate::backend::Backend;
use crate::data::Dataset;
use crate::dim::StaticDim;
use crate::distributed::{DataParallel, Shard};
use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::optim::{Optimizer, OptimizerFor, clip_grad_norm};
use crate::profile::{self, Phase, Profile};
use crate::rng::Rng;
use crate::shape::Shape;

use evaluate::scores;
use metrics::Accumulator;
use profile_step::report_profile;
use progress::Progress;
use run_fields::run_fields;

/// Where validation data comes from.
#[derive(Clone, Debug, Default)]
///
/// ```
/// use shapeflow_core::fit::{FitConfig, Validation};
/// let c = FitConfig { validation: Validation::Split(0.1), ..Default::default() };
/// assert!(matches!(c.validation, Validation::Split(f) if f == 0.1));
/// ```
pub enum Validation {
    /// No validation.
    #[default]
    None,
    /// The last fraction of the training data (Keras's `validation_split`).
    Split(f64),
    /// A random fraction of the training data, drawn with the seed (for files sorted by class).
    ShuffledSplit(f64, u64),
    /// A separate dataset.
    Data(Dataset),
}

/// How [`fit`] trains.
///
/// ```
/// use shapeflow_core::fit::{FitConfig, Metric, Validation};
/// let c = FitConfig { epochs: 3, validation: Validation::Split(0.1), metrics: vec![Metric::Accuracy], ..Default::default() };
/// assert_eq!(c.batch_size, 32);
/// ```
#[derive(Clone, Debug)]
pub struct FitConfig {
    /// Epochs to train (counting those already done when resuming).
    pub epochs: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Samples per batch when scoring (the validation pass and [`evaluate`]); `None`: the larger
    /// of `batch_size` and 256 (no gradients are kept, so larger batches are cheaper). Lower it
    /// for long sequences, whose attention grows with the square of their length.
    pub eval_batch_size: Option<usize>,
    /// Shuffle the training data every epoch.
    pub shuffle: bool,
    /// For sequences: batch sequences of similar lengths together (less padding; see
    /// [`Dataset::batches_by_length`]). Off by default.
    pub bucket_by_length: bool,
    /// Seed of the shuffling generator.
    pub seed: u64,
    /// The loss minimised.
    pub loss: LossFn,
    /// Metrics reported besides the loss (on validation data too, prefixed `val_`).
    pub metrics: Vec<Metric>,
    /// Validation data.
    pub validation: Validation,
    /// Clip the gradients' global norm to this value before each step.
    pub clip_grad_norm: Option<f64>,
    /// Progress output.
    pub verbosity: Verbosity,
    /// Save a training checkpoint (model, optimizer, generators, history) here after every epoch.
    pub checkpoint: Option<PathBuf>,
    /// Resume from [`FitConfig::checkpoint`] when that file exists.
    pub resume: bool,
    /// Train data-parallel over this group (see [`crate::distributed`]): `batch_size` is then
    /// per rank, every rank takes its shard of each global batch of `batch_size × world`
    /// samples drawn in the order one process would draw them, gradients are averaged before
    /// each step, the loss and metrics are computed over the whole batch, and only rank 0
    /// prints and writes checkpoints. Every rank must call `fit` with the same configuration.
    pub parallel: Option<DataParallel>,
    /// Profile one training step ([`crate::profile`]): its table is printed after it (unless
    /// quiet) and kept in the returned [`History`], and its Chrome trace written if asked.
    pub profile: Option<ProfileStep>,
}

impl FitConfig {
    /// Samples per batch when scoring: `eval_batch_size`, else the larger of `batch_size` and
    /// 256.
    ///
    /// ```
    /// use shapeflow_core::fit::FitConfig;
    /// assert_eq!(FitConfig::default().eval_batch(), 256);
    /// assert_eq!(FitConfig { eval_batch_size: Some(8), ..Default::default() }.eval_batch(), 8);
    /// ```
    pub fn eval_batch(&self) -> usize {
        self.eval_batch_size.unwrap_or(self.batch_size.max(256))
    }
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            epochs: 1,
            batch_size: 32,
            eval_batch_size: None,
            shuffle: true,
            bucket_by_length: false,
            seed: 0,
            loss: LossFn::CrossEntropy,
            metrics: Vec::new(),
            validation: Validation::None,
            clip_grad_norm: None,
            verbosity: Verbosity::Auto,
            checkpoint: None,
            resume: false,
            parallel: None,
            profile: None,
        }
    }
}

/// What [`fit`], [`evaluate`] and [`predict`] need of a model, as one bound: a generic training
/// function writes `M: Trainable<S, C, B>` instead of copying five. Every model they take has it.
///
/// ```
/// use shapeflow_core::{Backend, Shape, dim::StaticDim, fit::{FitConfig, History, Trainable, fit}};
/// use shapeflow_core::{data::Dataset, optim::{Adam, AdamConfig}};
///
/// fn train<M, S, C, B>(model: &mut M, dev: &B, data: &Dataset) -> shapeflow_core::Result<History>
/// where
///     M: Trainable<S, C, B>,
///     S: Shape,
///     C: StaticDim,
///     B: Backend,
/// {
///     let mut opt = Adam::new(model, AdamConfig::default());
///     fit(model, &mut opt, dev, data, &FitConfig::default(), &mut [])
/// }
///
/// use shapeflow_core::{Init, Rng, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut model = Linear::<typenum::U2, typenum::U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let data = Dataset::new(vec![1.0, 0.0, 0.0, 1.0], vec![0, 1], 2).unwrap();
/// let history = train::<_, (shapeflow_core::Dyn, typenum::U2), typenum::U2, Cpu>(&mut model, &dev, &data).unwrap();
/// assert_eq!(history.len(), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model `fit`, `evaluate` and `predict` take: they need one input and one output of class scores",
    label = "not a model these take",
    note = "a `model!` with several inputs or outputs is not a `Layer`: train it in a loop of your own (`forward_train`, `backward`); one with one output must end in `[C]` or `[seq, C]`"
)]
pub trait Trainable<S: Shape, C: StaticDim, B: Backend>:
    Layer<S, B, Cache: Send + Sync, Output: FitOutput<C, B>> + Send + Sync
{
}

// `do_not_recommend`: a model that misses one of these bounds is reported as not `Trainable`,
// with the message above, instead of as rustc's search through every `Layer` impl.
#[diagnostic::do_not_recommend]
impl<M, S, C, B> Trainable<S, C, B> for M
where
    M: Layer<S, B, Cache: Send + Sync, Output: FitOutput<C, B>> + Send + Sync,
    S: Shape,
    C: StaticDim,
    B: Backend,
{
}

/// Every value a callback monitors must be one `fit` logs: checked before the first epoch, so a
/// misspelt name (`val_acc`) fails at once, listing the names that exist.
fn check_monitored<M>(
    config: &FitConfig,
    validates: bool,
    callbacks: &[&mut dyn Callback<M>],
) -> Result<()> {
    let mut logged: Vec<String> = vec!["loss".into()];
    logged.extend(config.metrics.iter().map(|m| m.name()));
    if validates {
        let val: Vec<String> = logged.iter().map(|n| format!("val_{n}")).collect();
        logged.extend(val);
    }
    logged.push("lr".into());
    for cb in callbacks {
        if let Some(name) = cb.monitors()
            && !logged.iter().any(|l| l == name)
        {
            let known = logged.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ");
            let hint = if name.starts_with("val_") && !validates {
                " (validation values need `validation: Validation::Split(..)` or `Validation::Data(..)`)"
            } else {
                ""
            };
            return Err(Error::Config(format!(
                "a callback monitors `{name}`, which this run does not log; it logs {known}{hint}"
            )));
        }
    }
    Ok(())
}

/// Trains `model` on `train` with `opt`, as configured; returns every metric per epoch.
///
/// The model's input shape is `S` (with a `Dyn` batch) and its output `[batch, C]`. A NaN or
/// infinite loss stops training with an `Err` naming the epoch and batch.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, data::Dataset, layers::Linear, optim::{Adam, AdamConfig}};
/// use shapeflow_core::fit::{fit, FitConfig, Metric, Verbosity};
/// use shapeflow_cpu::Cpu;
/// use typenum::U2;
/// let dev = Cpu::default();
/// // Two separable classes.
/// let inputs: Vec<f32> = (0..200).flat_map(|i| { let c = (i % 2) as f32; [c * 2.0 - 1.0, 0.5] }).collect();
/// let data = Dataset::new(inputs, (0..200).map(|i| i % 2).collect(), 2).unwrap();
/// let mut model = Linear::<U2, U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let mut opt = Adam::new(&model, AdamConfig { lr: 0.1, ..Default::default() });
/// let config = FitConfig { epochs: 5, metrics: vec![Metric::Accuracy], verbosity: Verbosity::Quiet, ..Default::default() };
/// let history = fit::<_, (Dyn, U2), U2, Cpu, _>(&mut model, &mut opt, &dev, &data, &config, &mut []).unwrap();
/// assert_eq!(history.last("accuracy"), Some(1.0));
/// ```
pub fn fit<M, S, C, B, O: OptimizerFor<M>>(
    model: &mut M,
    mut opt: O,
    dev: &B,
    train: &Dataset,
    config: &FitConfig,
    callbacks: &mut [&mut dyn Callback<M>],
) -> Result<History>
where
    M: Trainable<S, C, B>,
    S: Shape,
    C: StaticDim,
    B: Backend,
    O::Optimizer: Send,
{
    let opt = opt.optimizer();
    let prepared = prepare(config, train, callbacks);
    if let Some(dp) = config.parallel.as_ref() {
        // Before anything that depends on the model or the configuration crosses ranks.
        dp.agree_to_start(
            prepared.is_ok(),
            &run_fields::<M, B, O::Optimizer>(model, opt, train, config),
        )?;
    }
    let (train_set, val_set) = prepared?;
    // The configured learning rate, before a resumed checkpoint replaces it: schedules are
    // computed from it.
    let base_lr = opt.lr();
    let mut rng = Rng::new(config.seed);
    let mut history = History::default();
    let mut step = 0usize;
    let mut first_epoch = 1;
    let dp = config.parallel.as_ref();
    let (world, main) = dp.map_or((1, true), |d| (d.world(), d.is_main()));
    if let (Some(path), true) = (&config.checkpoint, config.resume)
        && let Some(bytes) = read_checkpoint(path, dp)?
    {
        let resumed = state::load(&bytes, path, model, opt)?;
        if resumed.world != world {
            return Err(Error::Config(format!(
                "{}: this checkpoint was written by a run on {} rank(s); resume it with {} \
                 (this run has {world})",
                path.display(),
                resumed.world,
                resumed.world
            )));
        }
        rng = Rng::from_state(resumed.rng);
        history = resumed.history;
        first_epoch = resumed.epoch + 1;
    }
    if let Some(dp) = dp {
        dp.broadcast_model(model)?;
    }
    // Every rank draws the global batches one process would draw, then takes its shard.
    let global_batch = config.batch_size.max(1) * world;
    for cb in callbacks.iter_mut() {
        cb.on_train_begin(base_lr, first_epoch - 1, train_set.len().div_ceil(global_batch))?;
    }
    let mut progress = Progress::new(if main { config.verbosity } else { Verbosity::Quiet });
    if train_set.is_sequences() {
        progress.count_tokens();
    }
    for epoch in first_epoch..=config.epochs {
        let start = Instant::now();
        let batches = if config.shuffle && config.bucket_by_length {
            train_set.batches_by_length(global_batch, &mut rng)
        } else if config.shuffle {
            train_set.batches(global_batch, &mut rng)
        } else {
            train_set.batches_in_order(global_batch)
        };
        progress.start_epoch(epoch, config.epochs, batches.remaining());
        let mut acc = Accumulator::new(&config.metrics);
        for (index, batch) in batches.enumerate() {
            let acc = &mut acc;
            let (model, opt) = (&mut *model, &mut *opt);
            let at_batch = |e: Error| match e {
                Error::NonFinite(m) => {
                    Error::NonFinite(format!("epoch {epoch}, batch {}: {m}", index + 1))
                }
                other => other,
            };
            match dp {
                None => {
                    let x = batch.inputs_tensor::<S, B>(dev)?;
                    step += 1;
                    let profiled = config.profile.as_ref().filter(|p| p.step == step);
                    let prof = B::on_workers(|| -> Result<Option<Profile>> {
                        let mut run = || -> Result<()> {
                            let (out, cache) = model.forward_train(&x);
                            let (out, rows) = M::Output::rows(out);
                            let span = profile::enter("loss", config.loss.name(), Phase::Loss);
                            let (loss, dout) =
                                config.loss.apply(&out, &batch, dev).map_err(at_batch)?;
                            drop(span);
                            acc.add(loss, &out, &batch, dev)?;
                            let dout = M::Output::unrows(dout, &rows);
                            let mut grads = model.backward_params(&cache, &dout)?;
                            let _span = profile::enter("update", "", Phase::Update);
                            if let Some(max) = config.clip_grad_norm {
                                clip_grad_norm(&mut grads, max)?;
                            }
                            opt.step(model, &grads)
                        };
                        match profiled {
                            Some(_) => {
                                let (r, prof) = profile::record(run);
                                r.map(|()| Some(prof))
                            }
                            None => run().map(|()| None),
                        }
                    })?;
                    if let (Some(prof), Some(want)) = (prof, profiled) {
                        report_profile(
                            &prof,
                            want,
                            step,
                            main && config.verbosity != Verbosity::Quiet,
                        )?;
                        history.set_profile(prof);
                    }
                }
                Some(dp) => {
                    // The collectives run outside `on_workers`: a rank waiting for another
                    // must not hold a compute worker (ranks that are threads share them).
                    let shard = dp.shard(&batch);
                    let mut grads =
                        parallel_step::<M, S, C, B>(model, dev, config, dp, &shard, acc)
                            .map_err(at_batch)?;
                    B::on_workers(|| -> Result<()> {
                        if let Some(max) = config.clip_grad_norm {
                            clip_grad_norm(&mut grads, max)?;
                        }
                        opt.step(model, &grads)
                    })?;
                }
            }
            for cb in callbacks.iter_mut() {
                if let Some(lr) = cb.on_batch_end()? {
                    opt.set_lr(lr);
                }
            }
            // Sequences count tokens (valid steps), other data samples.
            let count = batch.lengths().map_or(batch.len(), |l| l.iter().sum());
            progress.batch(&acc.summary(), count, start.elapsed().as_secs_f64());
        }
        let mut logs = acc.logs("");
        if let Some(dp) = dp {
            // Every rank validates (its shard of) and rank 0 saves the same model.
            dp.broadcast_buffers(model)?;
        }
        if let Some(val) = &val_set {
            let val_logs = scores::<M, S, C, B>(
                model,
                dev,
                val,
                config.loss,
                &config.metrics,
                config.eval_batch(),
                dp,
            )
            .map_err(|e| in_validation(e, epoch))?;
            logs.extend(val_logs.iter().map(|(k, v)| (format!("val_{k}"), *v)));
        }
        logs.insert("lr".into(), opt.lr());
        logs.insert("time_s".into(), start.elapsed().as_secs_f64());
        progress.end_epoch(epoch, config.epochs, &logs);
        history.push(logs.clone());
        let mut stop = false;
        let mut restore = None;
        {
            let frozen: &M = model;
            let snapshot = || {
                let entries = crate::checkpoint::state_entries::<M, B>(frozen, "");
                Weights(entries.into_iter().map(|e| (e.name.clone(), e)).collect())
            };
            for cb in callbacks.iter_mut() {
                let mut ctx = EpochContext {
                    epoch,
                    logs: &logs,
                    model: frozen,
                    stop: &mut stop,
                    lr: None,
                    snapshot: &snapshot,
                    restore: &mut restore,
                    main,
                };
                cb.on_epoch_end(&mut ctx)?;
                if let Some(lr) = ctx.lr {
                    opt.set_lr(lr);
                }
            }
        }
        if let Some(Weights(entries)) = restore {
            let from = std::path::Path::new("<weights restored by a callback>");
            crate::checkpoint::load_entries(model, &entries, "", from, true)?;
        }
        if let Some(path) = &config.checkpoint
            && main
        {
            state::save(path, model, opt, epoch, rng.state(), &history, world)?;
        }
        if stop {
            break;
        }
    }
    Ok(history)
}

/// The checks `fit` makes before training, and the training and validation sets.
fn prepare<M>(
    config: &FitConfig,
    train: &Dataset,
    callbacks: &[&mut dyn Callback<M>],
) -> Result<(Dataset, Option<Dataset>)> {
    check_data(config, train)?;
    let (train_set, val_set) = match &config.validation {
        Validation::None => (train.clone(), None),
        Validation::Split(f) => {
            let (t, v) = train.split(*f);
            (t, Some(v))
        }
        Validation::ShuffledSplit(f, seed) => {
            let (t, v) = train.split_shuffled(*f, *seed);
            (t, Some(v))
        }
        Validation::Data(v) => (train.clone(), Some(v.clone())),
    };
    if let Some(v) = &val_set
        && v.is_empty()
    {
        return Err(Error::Config(format!(
            "{:?} leaves no validation sample from {} training samples: a loss over no data would read as 0.0",
            config.validation,
            train.len()
        )));
    }
    if train_set.is_empty() {
        return Err(Error::Config(format!("{:?} leaves no training sample", config.validation)));
    }
    check_monitored(config, val_set.is_some(), callbacks)?;
    Ok((train_set, val_set))
}

/// An error of the validation pass, saying so (a NaN only in the validation data would
/// otherwise read as a training failure).
fn in_validation(e: Error, epoch: usize) -> Error {
    match e {
        Error::NonFinite(m) => {
            Error::NonFinite(format!("on the validation data after epoch {epoch}: {m}"))
        }
        Error::Shape(m) => Error::Shape(format!("on the validation data after epoch {epoch}: {m}")),
        other => other,
    }
}

/// Refuses what would train on nothing or report a loss of data never seen: an empty
/// training set, a batch size of 0, a validation fraction outside (0, 1).
fn check_data(config: &FitConfig, train: &Dataset) -> Result<()> {
    if train.is_empty() {
        return Err(Error::Config("fit: the training set has no samples".into()));
    }
    if config.batch_size == 0 {
        return Err(Error::Config("fit: `batch_size` is 0; it must be at least 1".into()));
    }
    if config.eval_batch_size == Some(0) {
        return Err(Error::Config(
            "fit: `eval_batch_size` is Some(0); it must be at least 1 (or None)".into(),
        ));
    }
    if let Validation::Split(f) | Validation::ShuffledSplit(f, _) = &config.validation
        && !(*f > 0.0 && *f < 1.0)
    {
        return Err(Error::Config(format!(
            "fit: the validation fraction {f} must be strictly between 0 and 1 (0.1 keeps a tenth of the data for validation)"
        )));
    }
    Ok(())
}

/// One data-parallel training step's forward pass, loss and averaged gradients; the step's
/// loss and metrics over the whole global batch go into `acc` (the same on every rank).
fn parallel_step<M, S, C, B>(
    model: &mut M,
    dev: &B,
    config: &FitConfig,
    dp: &DataParallel,
    shard: &Shard,
    acc: &mut Accumulator,
) -> Result<M>
where
    M: Layer<S, B> + Send + Sync,
    M::Cache: Send + Sync,
    M::Output: FitOutput<C, B>,
    S: Shape,
    C: StaticDim,
    B: Backend,
{
    let batch = &shard.batch;
    let mut step = Accumulator::new(&config.metrics);
    let forward = B::on_workers(|| {
        let x = batch.inputs_tensor::<S, B>(dev)?;
        let (out, cache) = model.forward_train(&x);
        let (out, rows) = M::Output::rows(out);
        let (loss, dout) = config.loss.apply(&out, batch, dev)?;
        if shard.weight > 0 {
            step.add(loss, &out, batch, dev)?;
        }
        Ok((cache, M::Output::unrows(dout, &rows)))
    });
    // Every rank learns whether every other rank's loss is usable before any gradient moves.
    let (outcome, forward) = match forward {
        Ok(f) => (Ok(()), Some(f)),
        Err(e) => (Err(e), None),
    };
    let totals = dp.agree(outcome, step.totals())?;
    acc.add_totals(&totals);
    let Some((cache, dout)) = forward else {
        return Err(Error::Distributed("a failed step was not reported".into()));
    };
    dp.backward(model, &cache, &dout, shard)
}

/// The training checkpoint's bytes when it exists: read by rank 0 and sent to every rank in
/// data-parallel training (the other ranks need not see the file).
fn read_checkpoint(path: &std::path::Path, dp: Option<&DataParallel>) -> Result<Option<Vec<u8>>> {
    let read = || -> Result<Option<Vec<u8>>> {
        if !path.exists() {
            return Ok(None);
        }
        std::fs::read(path)
            .map(Some)
            .map_err(|source| Error::Io { path: path.display().to_string(), source })
    };
    match dp {
        None => read(),
        Some(dp) => {
            let mine = if dp.is_main() { read() } else { Ok(None) };
            dp.broadcast_file(mine)
        }
    }
}
