//! Classification metrics computed from a batch of model outputs.

use num_traits::Float;

use crate::backend::Backend;
use crate::dim::{Dim, Dyn, StaticDim};
use crate::error::Result;
use crate::tensor::Tensor;

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
    let values = logits.to_vec();
    let hits = values
        .chunks_exact(C::N.max(1))
        .zip(labels)
        .filter(|(row, label)| {
            let best = row
                .iter()
                .enumerate()
                .fold((0, B::Elem::neg_infinity()), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            best.0 == **label
        })
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
