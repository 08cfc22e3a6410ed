//! Classification metrics computed from a batch of model outputs.

use crate::backend::{Backend, Elem};
use crate::dim::{Dim, Dyn, StaticDim};
use crate::error::Result;
use crate::tensor::Tensor;

/// Whether `label` is among the `k` highest values of `row`, ties going to the lower index (so
/// with `k = 1`, whether the row's first maximum is at `label`). The one rule behind
/// [`correct`], [`accuracy`] and `fit`'s `accuracy` and `top_k_accuracy`: a row of equal
/// values counts only for label 0. NaN ranks above every number, and a label outside the row
/// never counts.
///
/// ```
/// use shapeflow_core::metrics::in_top_k;
/// assert!(in_top_k(&[0.1, 0.7, 0.2], 1, 1));
/// assert!(in_top_k(&[0.1, 0.7, 0.2], 2, 2));
/// assert!(in_top_k(&[0.5, 0.5], 0, 1) && !in_top_k(&[0.5, 0.5], 1, 1));
/// assert!(!in_top_k(&[0.5, 0.5], 2, 1));
/// ```
pub fn in_top_k(row: &[f64], label: usize, k: usize) -> bool {
    let Some(&target) = row.get(label).filter(|v| !v.is_nan()) else { return false };
    let ahead = row
        .iter()
        .enumerate()
        .filter(|&(i, &v)| v > target || (v == target && i < label) || v.is_nan())
        .count();
    ahead < k
}

/// How many rows of `logits` (`[batch, classes]`) have their largest value at the row's label.
/// A label count that differs from the batch is an `Err`.
///
/// ```
/// use shapeflow_core::{Dyn, Tensor, metrics::correct};
/// use shapeflow_cpu::Cpu;
/// let logits = Tensor::<(Dyn, typenum::U3), Cpu>::from_batch(&Cpu::default(), 2, vec![0.1, 0.7, 0.2, 0.9, 0.05, 0.05]).unwrap();
/// assert_eq!(correct(&logits, &[1, 2]).unwrap(), 1);
/// ```
pub fn correct<N: Dim, C: StaticDim, B: Backend>(
    logits: &Tensor<(N, C), B>,
    labels: &[usize],
) -> Result<usize> {
    if labels.len() != logits.batch() {
        return Err(crate::Error::Length {
            what: "labels for the batch".into(),
            expected: logits.batch(),
            got: labels.len(),
        });
    }
    let values: Vec<f64> = logits.to_vec().into_iter().map(Elem::as_f64).collect();
    let hits = values
        .chunks_exact(C::N.max(1))
        .zip(labels)
        .filter(|(row, label)| in_top_k(row, **label, 1))
        .count();
    Ok(hits)
}

/// Accuracy of `model` on a dataset, evaluated in batches of `batch_size` with `forward`.
///
/// ```
/// use shapeflow_core::{Dyn, Tensor, data::Dataset, metrics::accuracy};
/// use shapeflow_cpu::Cpu;
/// let ds = Dataset::new(vec![1.0, 0.0, 0.0, 1.0], vec![0, 1], 2).unwrap();
/// let identity = |x: &Tensor<(Dyn, typenum::U2), Cpu>| x.clone();
/// assert_eq!(accuracy(&Cpu::default(), &ds, 1, identity).unwrap(), 1.0);
/// ```
pub fn accuracy<S, C, B, F>(
    dev: &B,
    data: &crate::data::Dataset,
    batch_size: usize,
    forward: F,
) -> Result<f64>
where
    S: crate::Shape,
    C: StaticDim,
    B: Backend,
    F: Fn(&Tensor<S, B>) -> Tensor<(Dyn, C), B>,
{
    let mut hits = 0usize;
    for batch in data.batches_in_order(batch_size) {
        let x = batch.inputs_tensor::<S, B>(dev)?;
        hits += correct(&forward(&x), &batch.labels)?;
    }
    Ok(hits as f64 / data.len().max(1) as f64)
}
