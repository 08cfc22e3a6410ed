//! Callbacks: early stopping, keep-best checkpoints, learning-rate schedules, and your own.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::checkpoint::Entry;
use crate::error::Result;
use crate::optim::LrSchedule;

use super::history::EpochLogs;

/// What a callback sees at the end of an epoch, and what it may change.
pub struct EpochContext<'a, M> {
    /// The epoch just finished (from 1).
    pub epoch: usize,
    /// Its logs.
    pub logs: &'a EpochLogs,
    /// The model.
    pub model: &'a M,
    pub(crate) stop: &'a mut bool,
    pub(crate) lr: Option<f64>,
    pub(crate) snapshot: &'a dyn Fn() -> Weights,
    pub(crate) restore: &'a mut Option<Weights>,
    pub(crate) main: bool,
}

/// A copy of a model's state (parameters and buffers, as a checkpoint holds them), taken by
/// [`EpochContext::snapshot`] and put back by [`EpochContext::restore`].
#[derive(Clone, Debug)]
pub struct Weights(pub(crate) HashMap<String, Entry>);

impl<M> EpochContext<'_, M> {
    /// Whether this process writes files: always in one process; rank 0 only in data-parallel
    /// training (every rank runs the callbacks, with the same logs, so they decide alike).
    pub fn is_main(&self) -> bool {
        self.main
    }
    /// A copy of the model's current state.
    pub fn snapshot(&self) -> Weights {
        (self.snapshot)()
    }
    /// Puts `weights` back into the model once this epoch's callbacks have run.
    pub fn restore(&mut self, weights: Weights) {
        *self.restore = Some(weights);
    }
    /// Stops training after this epoch.
    pub fn stop_training(&mut self) {
        *self.stop = true;
    }
    /// Sets the learning rate for the next epoch.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = Some(lr);
    }
}

/// Hooks into [`fit`](super::fit). A closure `FnMut(&mut EpochContext<M>) -> Result<()>` is a
/// callback too (called at the end of every epoch).
///
/// ```
/// use shapeflow_core::fit::EpochContext;
/// // Any closure over the epoch context is a callback: stop once the loss is small.
/// let mut stop_early = |ctx: &mut EpochContext<'_, ()>| -> shapeflow_core::Result<()> {
///     if ctx.logs["loss"] < 0.01 {
///         ctx.stop_training();
///     }
///     Ok(())
/// };
/// # let _ = &mut stop_early;
/// ```
pub trait Callback<M> {
    /// Before the first epoch: the optimizer's learning rate, the epochs already done (when
    /// resuming) and the number of batches per epoch.
    fn on_train_begin(
        &mut self,
        base_lr: f64,
        epochs_done: usize,
        batches_per_epoch: usize,
    ) -> Result<()> {
        let _ = (base_lr, epochs_done, batches_per_epoch);
        Ok(())
    }
    /// After every optimizer step; may return a new learning rate.
    fn on_batch_end(&mut self) -> Result<Option<f64>> {
        Ok(None)
    }
    /// After every epoch (and validation).
    fn on_epoch_end(&mut self, ctx: &mut EpochContext<'_, M>) -> Result<()> {
        let _ = ctx;
        Ok(())
    }
    /// The logged value this callback watches, if any: `fit` checks before training that it
    /// will be logged.
    fn monitors(&self) -> Option<&str> {
        None
    }
}

impl<M, F: FnMut(&mut EpochContext<'_, M>) -> Result<()>> Callback<M> for F {
    fn on_epoch_end(&mut self, ctx: &mut EpochContext<'_, M>) -> Result<()> {
        self(ctx)
    }
}

/// Whether a monitored value improves downwards (a loss) or upwards (an accuracy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
///
/// ```
/// use shapeflow_core::fit::Mode;
/// assert_eq!(Mode::auto("val_accuracy"), Mode::Max);
/// assert_eq!(Mode::auto("val_loss"), Mode::Min);
/// ```
pub enum Mode {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// `Max` for names containing "acc", else `Min` (Keras's `auto`).
    pub fn auto(monitor: &str) -> Mode {
        if monitor.contains("acc") { Mode::Max } else { Mode::Min }
    }
    fn better(self, new: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Mode::Min => new < best - min_delta,
            Mode::Max => new > best + min_delta,
        }
    }
}

/// Stops training when `monitor` has not improved by `min_delta` for `patience` epochs; with
/// [`EarlyStopping::restore_best_weights`], the model then gets back the weights of its best
/// epoch (Keras's `restore_best_weights=True`).
///
/// ```
/// use shapeflow_core::fit::EarlyStopping;
/// let es = EarlyStopping::new("val_loss", 3).restore_best_weights();
/// assert_eq!((es.patience, es.restore_best), (3, true));
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    /// The logged value watched (`val_loss`, `val_accuracy`, …).
    pub monitor: String,
    /// Epochs without improvement tolerated.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Direction of improvement.
    pub mode: Mode,
    best: Option<f64>,
    waited: usize,
    /// The epoch training stopped at, if it did.
    pub stopped_epoch: Option<usize>,
    /// Whether stopping puts the best epoch's weights back.
    pub restore_best: bool,
    /// The epoch of the best value so far.
    pub best_epoch: Option<usize>,
    best_weights: Option<Weights>,
}

impl EarlyStopping {
    /// Watches `monitor` with the given patience (direction from the name, `min_delta` 0).
    pub fn new(monitor: &str, patience: usize) -> Self {
        EarlyStopping {
            monitor: monitor.into(),
            patience,
            min_delta: 0.0,
            mode: Mode::auto(monitor),
            best: None,
            waited: 0,
            stopped_epoch: None,
            restore_best: false,
            best_epoch: None,
            best_weights: None,
        }
    }

    /// When training stops early, the model gets back the weights (and batch-norm statistics)
    /// of the epoch with the best monitored value.
    pub fn restore_best_weights(mut self) -> Self {
        self.restore_best = true;
        self
    }
}

fn monitored(logs: &EpochLogs, monitor: &str) -> Result<f64> {
    logs.get(monitor).copied().ok_or_else(|| {
        crate::Error::Shape(format!(
            "callback monitors `{monitor}`, which is not logged (logged: {})",
            logs.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

impl<M> Callback<M> for EarlyStopping {
    fn monitors(&self) -> Option<&str> {
        Some(&self.monitor)
    }
    fn on_epoch_end(&mut self, ctx: &mut EpochContext<'_, M>) -> Result<()> {
        let v = monitored(ctx.logs, &self.monitor)?;
        match self.best {
            Some(b) if !self.mode.better(v, b, self.min_delta) => {
                self.waited += 1;
                if self.waited >= self.patience {
                    self.stopped_epoch = Some(ctx.epoch);
                    ctx.stop_training();
                    if let Some(best) = self.best_weights.take() {
                        ctx.restore(best);
                    }
                }
            }
            _ => {
                self.best = Some(v);
                self.best_epoch = Some(ctx.epoch);
                self.waited = 0;
                if self.restore_best {
                    self.best_weights = Some(ctx.snapshot());
                }
            }
        }
        Ok(())
    }
}

/// Saves the model (weights only, PyTorch-compatible safetensors) whenever `monitor` improves.
///
/// ```
/// use shapeflow_core::fit::ModelCheckpoint;
/// use shapeflow_core::layers::Linear;
/// use shapeflow_cpu::Cpu;
/// let best = ModelCheckpoint::<Linear<typenum::U2, typenum::U1, Cpu>>::new("best.safetensors", "val_loss");
/// assert_eq!(best.monitor, "val_loss");
/// ```
pub struct ModelCheckpoint<M> {
    /// Where the best model goes.
    pub path: PathBuf,
    /// The logged value watched.
    pub monitor: String,
    /// Direction of improvement.
    pub mode: Mode,
    best: Option<f64>,
    /// The epoch of the best value so far.
    pub best_epoch: Option<usize>,
    save: Box<dyn Fn(&M, &std::path::Path) -> Result<()>>,
}

impl<M> ModelCheckpoint<M> {
    /// Keeps the best model by `monitor` at `path`.
    pub fn new<B: crate::Backend>(path: impl Into<PathBuf>, monitor: &str) -> Self
    where
        M: crate::Module<B>,
    {
        ModelCheckpoint {
            path: path.into(),
            monitor: monitor.into(),
            mode: Mode::auto(monitor),
            best: None,
            best_epoch: None,
            save: Box::new(|m, p| crate::checkpoint::save(m, p)),
        }
    }
}

impl<M> Callback<M> for ModelCheckpoint<M> {
    fn monitors(&self) -> Option<&str> {
        Some(&self.monitor)
    }
    fn on_epoch_end(&mut self, ctx: &mut EpochContext<'_, M>) -> Result<()> {
        let v = monitored(ctx.logs, &self.monitor)?;
        if self.best.is_none_or(|b| self.mode.better(v, b, 0.0)) {
            self.best = Some(v);
            self.best_epoch = Some(ctx.epoch);
            if ctx.is_main() {
                (self.save)(ctx.model, &self.path)?;
            }
        }
        Ok(())
    }
}

/// Sets the learning rate from a schedule, per epoch or per batch (one-cycle).
///
/// ```
/// use shapeflow_core::fit::LrScheduler;
/// use shapeflow_core::optim::{CosineAnnealingLr, OneCycleLr};
/// let per_epoch = LrScheduler::per_epoch(CosineAnnealingLr { t_max: 10, eta_min: 1e-5 });
/// let per_batch = LrScheduler::per_batch(OneCycleLr::new(0.1, 1000));
/// ```
pub struct LrScheduler {
    schedule: Box<dyn LrSchedule>,
    per_batch: bool,
    base: f64,
    steps: usize,
}

impl LrScheduler {
    /// Steps `schedule` after every epoch.
    pub fn per_epoch(schedule: impl LrSchedule + 'static) -> Self {
        LrScheduler { schedule: Box::new(schedule), per_batch: false, base: 0.0, steps: 0 }
    }
    /// Steps `schedule` after every batch.
    pub fn per_batch(schedule: impl LrSchedule + 'static) -> Self {
        LrScheduler { schedule: Box::new(schedule), per_batch: true, base: 0.0, steps: 0 }
    }
}

impl<M> Callback<M> for LrScheduler {
    fn on_train_begin(
        &mut self,
        base_lr: f64,
        epochs_done: usize,
        batches_per_epoch: usize,
    ) -> Result<()> {
        self.base = base_lr;
        // When resuming, continue the schedule where the checkpoint left it.
        self.steps = if self.per_batch { epochs_done * batches_per_epoch } else { epochs_done };
        Ok(())
    }
    fn on_batch_end(&mut self) -> Result<Option<f64>> {
        if !self.per_batch {
            return Ok(None);
        }
        self.steps += 1;
        Ok(Some(self.schedule.lr(self.base, self.steps)))
    }
    fn on_epoch_end(&mut self, ctx: &mut EpochContext<'_, M>) -> Result<()> {
        if !self.per_batch {
            self.steps += 1;
            ctx.set_lr(self.schedule.lr(self.base, self.steps));
        }
        Ok(())
    }
}
