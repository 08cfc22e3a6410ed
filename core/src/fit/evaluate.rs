//! Scoring a model: [`evaluate`] and [`evaluate_with`], and the loss and metrics pass that
//! `fit`'s validation runs too.

use crate::backend::Backend;
use crate::data::Dataset;
use crate::dim::StaticDim;
use crate::distributed::DataParallel;
use crate::error::{Error, Result};
use crate::shape::Shape;

use super::metrics::Accumulator;
use super::{EpochLogs, FitConfig, FitOutput, LossFn, Metric, Trainable};

/// Loss and metrics of `model` on `data` (inference mode), as a map `name → value`.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, data::Dataset, layers::Linear};
/// use shapeflow_core::fit::{evaluate, FitConfig, Metric};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let data = Dataset::new(vec![1.0, 0.0, 0.0, 1.0], vec![0, 1], 2).unwrap();
/// let model = Linear::<typenum::U2, typenum::U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let cfg = FitConfig { metrics: vec![Metric::Accuracy], ..Default::default() };
/// let logs = evaluate::<_, (Dyn, typenum::U2), typenum::U2, Cpu>(&model, &dev, &data, &cfg).unwrap();
/// assert!(logs.contains_key("loss") && logs.contains_key("accuracy"));
/// ```
pub fn evaluate<M, S, C, B>(
    model: &M,
    dev: &B,
    data: &Dataset,
    config: &FitConfig,
) -> Result<EpochLogs>
where
    M: Trainable<S, C, B>,
    S: Shape,
    C: StaticDim,
    B: Backend,
{
    let (loss, metrics, parallel) = (config.loss, &config.metrics, config.parallel.as_ref());
    scores(model, dev, data, loss, metrics, config.eval_batch(), parallel)
}

/// [`evaluate`] without a [`FitConfig`]: the loss and the metrics named here (Keras's
/// `model.evaluate`), in batches of 256.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, data::Dataset, layers::Linear};
/// use shapeflow_core::fit::{LossFn, Metric, evaluate_with};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let data = Dataset::new(vec![1.0, 0.0, 0.0, 1.0], vec![0, 1], 2).unwrap();
/// let model = Linear::<typenum::U2, typenum::U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let logs = evaluate_with::<_, (Dyn, typenum::U2), _, _>(&model, &dev, &data, LossFn::CrossEntropy, &[Metric::Accuracy]).unwrap();
/// assert!(logs["accuracy"] >= 0.0);
/// ```
pub fn evaluate_with<M, S, C, B>(
    model: &M,
    dev: &B,
    data: &Dataset,
    loss: LossFn,
    metrics: &[Metric],
) -> Result<EpochLogs>
where
    M: Trainable<S, C, B>,
    S: Shape,
    C: StaticDim,
    B: Backend,
{
    scores(model, dev, data, loss, metrics, 256, None)
}

/// Loss and metrics over `data`; with `parallel`, every rank scores its shard of each batch
/// and the sums are added up, so every rank gets the whole dataset's values.
pub(super) fn scores<M, S, C, B>(
    model: &M,
    dev: &B,
    data: &Dataset,
    loss_fn: LossFn,
    metrics: &[Metric],
    batch_size: usize,
    parallel: Option<&DataParallel>,
) -> Result<EpochLogs>
where
    M: Trainable<S, C, B>,
    S: Shape,
    C: StaticDim,
    B: Backend,
{
    if data.is_empty() {
        return Err(Error::Config(
            "evaluate: the dataset has no samples, so it has no loss or metrics".into(),
        ));
    }
    if batch_size == 0 {
        return Err(Error::Config(
            "evaluate: a batch size of 0 (`eval_batch_size: Some(0)`); it must be at least 1"
                .into(),
        ));
    }
    let mut acc = Accumulator::new(metrics);
    let world = parallel.map_or(1, DataParallel::world);
    let mut outcome = Ok(());
    let mut next = 0;
    for global in data.batches_in_order(batch_size * world) {
        let first = next;
        next += global.len();
        if parallel.is_some() {
            // Checked whole, so that the sample named is the dataset's (every rank sees the
            // same global batch, so every rank stops here together).
            let x = global.inputs_tensor::<S, B>(dev)?;
            model.check_input(&x).map_err(|e| e.counted_from(first))?;
        }
        let shard = parallel.map(|dp| dp.shard(&global));
        let (batch, counted) = match &shard {
            Some(s) => (&s.batch, s.weight > 0),
            None => (&global, true),
        };
        if !counted {
            continue;
        }
        let acc = &mut acc;
        let step = B::on_workers(|| -> Result<()> {
            let x = batch.inputs_tensor::<S, B>(dev)?;
            if parallel.is_none() {
                model.check_input(&x).map_err(|e| e.counted_from(first))?;
            }
            let (out, _) = M::Output::rows(model.forward(&x));
            let (loss, _) = loss_fn.apply(&out, batch, dev)?;
            acc.add(loss, &out, batch, dev)
        });
        if let Err(e) = step {
            if parallel.is_none() {
                return Err(e);
            }
            // Every rank must reach the sum below.
            outcome = Err(e);
            break;
        }
    }
    if let Some(dp) = parallel {
        let totals = dp.agree(outcome, acc.totals())?;
        acc = Accumulator::new(metrics);
        acc.add_totals(&totals);
    }
    Ok(acc.logs(""))
}
