//! The losses `fit` minimises and the metrics it reports, accumulated over an epoch.

use crate::backend::{Backend, Elem};
use crate::data::Batch;
use crate::dim::{Dyn, StaticDim};
use crate::error::{Error, Result};
use crate::loss::{bce_with_logits, cross_entropy, mse_loss};
use crate::tensor::Tensor;

use super::history::EpochLogs;

/// The loss [`fit`](super::fit) minimises.
#[derive(Clone, Copy, Debug, PartialEq)]
///
/// ```
/// use shapeflow_core::fit::{FitConfig, LossFn, Metric};
/// let regression = FitConfig { loss: LossFn::Mse, metrics: vec![Metric::Mae], ..Default::default() };
/// assert_eq!(regression.loss, LossFn::Mse);
/// ```
pub enum LossFn {
    /// Cross-entropy from logits against class labels.
    CrossEntropy,
    /// Mean squared error against regression targets.
    Mse,
    /// Binary cross-entropy from logits against float targets in `[0, 1]` (one per output;
    /// `Dataset::regression` holds them): binary and multi-label classification.
    BceWithLogits,
    /// A loss of your own, computed on the host from each batch's outputs and its labels or
    /// targets, with its gradient (see [`CustomLoss`]).
    Custom(CustomLoss),
    /// A loss of your own written with the tensor op set, differentiated by autograd (see
    /// [`AutogradLoss`](super::AutogradLoss)).
    Autograd(super::AutogradLoss),
}

impl LossFn {
    /// PyTorch's name for it (`cross_entropy`), or `custom` / `autograd`.
    pub fn name(&self) -> &'static str {
        match self {
            LossFn::CrossEntropy => "cross_entropy",
            LossFn::Mse => "mse_loss",
            LossFn::BceWithLogits => "binary_cross_entropy_with_logits",
            LossFn::Custom(_) => "custom",
            LossFn::Autograd(_) => "autograd",
        }
    }
}

/// A loss of your own for [`fit`](super::fit): `f` gets the batch ([`LossInput`]) and returns
/// the loss (a mean over the batch, as the built-in losses) and its gradient with respect to
/// every output, in the outputs' order. A gradient of the wrong length, or a loss or gradient
/// that is not finite, is an `Err` naming the loss.
///
/// ```
/// use shapeflow_core::fit::{CustomLoss, FitConfig, LossFn, LossInput};
/// // Mean absolute error against float targets.
/// fn mae(b: &LossInput<'_>) -> shapeflow_core::Result<(f64, Vec<f64>)> {
///     let n = b.outputs.len() as f64;
///     let d: Vec<f64> = b.outputs.iter().zip(b.targets).map(|(y, &t)| y - t as f64).collect();
///     Ok((d.iter().map(|v| v.abs()).sum::<f64>() / n, d.iter().map(|v| v.signum() / n).collect()))
/// }
/// let cfg = FitConfig { loss: LossFn::Custom(CustomLoss { name: "mae", f: mae }), ..Default::default() };
/// # let _ = cfg;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CustomLoss {
    /// How errors name it.
    pub name: &'static str,
    /// The loss and its gradient.
    pub f: fn(&LossInput<'_>) -> Result<(f64, Vec<f64>)>,
}

/// What a [`CustomLoss`] sees of one batch.
pub struct LossInput<'a> {
    /// The model's outputs, row after row (`rows × width`).
    pub outputs: &'a [f64],
    /// Outputs per sample.
    pub width: usize,
    /// One class label per sample (a regression dataset's are 0).
    pub labels: &'a [usize],
    /// Float targets, `width` per sample (empty for a classification dataset).
    pub targets: &'a [f32],
}

/// Two custom losses are the same loss when they have the same name (function addresses are
/// not a reliable identity).
impl PartialEq for CustomLoss {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl CustomLoss {
    fn apply<C: StaticDim, B: Backend>(
        &self,
        out: &Tensor<(Dyn, C), B>,
        batch: &Batch,
        dev: &B,
    ) -> Result<(f64, Tensor<(Dyn, C), B>)> {
        let outputs: Vec<f64> = out.to_vec().into_iter().map(Elem::as_f64).collect();
        let input = LossInput {
            outputs: &outputs,
            width: C::N,
            labels: &batch.labels,
            targets: &batch.targets,
        };
        let (loss, grad) = (self.f)(&input)?;
        let name = self.name;
        if grad.len() != outputs.len() {
            return Err(Error::Shape(format!(
                "loss `{name}`: the gradient has {} values for {} outputs ({} rows of {})",
                grad.len(),
                outputs.len(),
                out.batch(),
                C::N
            )));
        }
        if !loss.is_finite() {
            return Err(Error::NonFinite(format!("loss `{name}` is {loss}")));
        }
        if let Some(i) = grad.iter().position(|g| !g.is_finite()) {
            return Err(Error::NonFinite(format!(
                "loss `{name}`: the gradient of output {} of row {} is {}",
                i % C::N,
                i / C::N,
                grad[i]
            )));
        }
        let grad = grad.into_iter().map(B::Elem::from_f64).collect();
        Ok((loss, Tensor::from_vec(dev, &[out.batch(), C::N], grad)?))
    }
}

impl LossFn {
    pub(crate) fn apply<C: StaticDim, B: Backend>(
        self,
        out: &Tensor<(Dyn, C), B>,
        batch: &Batch,
        dev: &B,
    ) -> Result<(f64, Tensor<(Dyn, C), B>)> {
        match self {
            LossFn::CrossEntropy => cross_entropy(out, &batch.labels),
            LossFn::Mse => mse_loss(out, &targets::<C, B>(batch, dev)?),
            LossFn::BceWithLogits => bce_with_logits(out, &targets::<C, B>(batch, dev)?),
            LossFn::Custom(custom) => custom.apply(out, batch, dev),
            LossFn::Autograd(loss) => loss.apply(out, batch, dev),
        }
    }
}

fn targets<C: StaticDim, B: Backend>(batch: &Batch, dev: &B) -> Result<Tensor<(Dyn, C), B>> {
    if batch.targets.is_empty() {
        return Err(Error::Shape(
            "MSE, MAE, binary cross-entropy and binary accuracy need float targets (Dataset::regression)".into(),
        ));
    }
    batch.targets_tensor(dev)
}

/// A metric reported by [`fit`](super::fit) (the loss is always reported).
#[derive(Clone, Copy, Debug, PartialEq)]
///
/// ```
/// use shapeflow_core::fit::Metric;
/// assert_eq!(Metric::TopK(5).name(), "top_5_accuracy");
/// ```
pub enum Metric {
    /// Fraction of samples whose highest output is the label (`accuracy`).
    Accuracy,
    /// Fraction whose label is among the `k` highest outputs (`top_k_accuracy`).
    TopK(usize),
    /// Mean squared error against regression targets (`mse`).
    Mse,
    /// Mean absolute error against regression targets (`mae`).
    Mae,
    /// For one logit per decision: the fraction of outputs whose sign agrees with the target
    /// (logit > 0 against target ≥ 0.5), over every output (`binary_accuracy`).
    BinaryAccuracy,
}

impl Metric {
    /// The name in logs and history.
    pub fn name(self) -> String {
        match self {
            Metric::Accuracy => "accuracy".into(),
            Metric::TopK(k) => format!("top_{k}_accuracy"),
            Metric::Mse => "mse".into(),
            Metric::Mae => "mae".into(),
            Metric::BinaryAccuracy => "binary_accuracy".into(),
        }
    }
}

/// Sums over an epoch, weighted by batch size.
pub(crate) struct Accumulator {
    metrics: Vec<Metric>,
    loss: f64,
    sums: Vec<f64>,
    /// Denominators per metric (samples, or elements for MSE/MAE).
    counts: Vec<f64>,
    samples: usize,
}

impl Accumulator {
    pub(crate) fn new(metrics: &[Metric]) -> Self {
        Accumulator {
            metrics: metrics.to_vec(),
            loss: 0.0,
            sums: vec![0.0; metrics.len()],
            counts: vec![0.0; metrics.len()],
            samples: 0,
        }
    }

    pub(crate) fn add<C: StaticDim, B: Backend>(
        &mut self,
        loss: f64,
        out: &Tensor<(Dyn, C), B>,
        batch: &Batch,
        dev: &B,
    ) -> Result<()> {
        let n = batch.len();
        self.loss += loss * n as f64;
        self.samples += n;
        if self.metrics.is_empty() {
            return Ok(());
        }
        let values: Vec<f64> = out.to_vec().into_iter().map(Elem::as_f64).collect();
        for (i, m) in self.metrics.iter().enumerate() {
            match *m {
                Metric::Accuracy | Metric::TopK(_) => {
                    let k = if let Metric::TopK(k) = *m { k } else { 1 };
                    for (row, &label) in values.chunks_exact(C::N.max(1)).zip(&batch.labels) {
                        self.sums[i] +=
                            f64::from(u8::from(crate::metrics::in_top_k(row, label, k)));
                    }
                    self.counts[i] += n as f64;
                }
                Metric::BinaryAccuracy => {
                    let t = targets::<C, B>(batch, dev)?.to_vec();
                    for (v, t) in values.iter().zip(t) {
                        self.sums[i] += f64::from(u8::from((*v > 0.0) == (t.as_f64() >= 0.5)));
                    }
                    self.counts[i] += values.len() as f64;
                }
                Metric::Mse | Metric::Mae => {
                    let t = targets::<C, B>(batch, dev)?.to_vec();
                    for (v, t) in values.iter().zip(t) {
                        let d = v - t.as_f64();
                        self.sums[i] += if *m == Metric::Mse { d * d } else { d.abs() };
                    }
                    self.counts[i] += values.len() as f64;
                }
            }
        }
        Ok(())
    }

    /// The sums behind the logs, flat (loss, rows, then each metric's sum and count): what
    /// data-parallel training adds up over the ranks.
    pub(crate) fn totals(&self) -> Vec<f64> {
        let mut t = vec![self.loss, self.samples as f64];
        t.extend(&self.sums);
        t.extend(&self.counts);
        t
    }

    /// Adds [`Accumulator::totals`] (of the same metrics) into this one.
    pub(crate) fn add_totals(&mut self, t: &[f64]) {
        let m = self.metrics.len();
        if t.len() != 2 + 2 * m {
            return;
        }
        self.loss += t[0];
        self.samples += t[1].round() as usize;
        for i in 0..m {
            self.sums[i] += t[2 + i];
            self.counts[i] += t[2 + m + i];
        }
    }

    /// Running values for the progress bar.
    pub(crate) fn summary(&self) -> Vec<(String, f64)> {
        let mut out = vec![("loss".to_string(), self.loss / self.samples.max(1) as f64)];
        for (i, m) in self.metrics.iter().enumerate() {
            out.push((m.name(), self.sums[i] / self.counts[i].max(1.0)));
        }
        out
    }

    pub(crate) fn logs(&self, prefix: &str) -> EpochLogs {
        self.summary().into_iter().map(|(k, v)| (format!("{prefix}{k}"), v)).collect()
    }
}
