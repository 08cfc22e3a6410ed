//! Cross-entropy per step of a sequence batch (language models): one label per valid step,
//! padded steps ignored.

use crate::backend::Backend;
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::shape::Dims;
use crate::tensor::Tensor;

use super::{LossGrad, cross_entropy};

/// Mean cross-entropy over every valid step of `logits` (`[batch, steps, classes]`), sample
/// `b`'s labels being `labels[b]` (one per valid step: as many as its length), and the gradient,
/// zero at padded steps. PyTorch's `cross_entropy(logits.flatten(0, 1), targets, ignore_index=…)`
/// with the padded targets ignored. A label list of the wrong length or a label outside
/// `0..classes` is an `Err` naming the sample.
///
/// ```
/// use shapeflow_core::{Dyn, Tensor, loss::cross_entropy_steps};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// // two samples of 2 and 1 steps over 2 classes
/// let logits = Tensor::<(Dyn, Dyn, typenum::U2), Cpu>::from_sequences(&dev, &[vec![0.0, 0.0, 0.0, 0.0], vec![0.0, 0.0]]).unwrap();
/// let (loss, grad) = cross_entropy_steps(&logits, &[vec![1, 0], vec![1]]).unwrap();
/// assert!((loss - std::f64::consts::LN_2).abs() < 1e-6);
/// assert_eq!(&grad.to_vec()[6..], &[0.0, 0.0]); // the padded step
/// assert!(cross_entropy_steps(&logits, &[vec![1], vec![1]]).is_err());
/// ```
pub fn cross_entropy_steps<N: Dim, T: Dim, C: StaticDim, B: Backend, L: AsRef<[usize]>>(
    logits: &Tensor<(N, T, C), B>,
    labels: &[L],
) -> Result<LossGrad<(N, T, C), B>> {
    super::at_least_two_classes(C::N)?;
    let (batch, steps) = (logits.dims()[0], logits.dims()[1]);
    let lengths = logits.step_lengths();
    if labels.len() != batch {
        return Err(Error::Length {
            what: "per-step labels (one list per sample of the batch)".into(),
            expected: batch,
            got: labels.len(),
        });
    }
    let mut rows = Vec::with_capacity(lengths.iter().sum());
    let mut flat = Vec::with_capacity(rows.capacity());
    for (b, (l, &len)) in labels.iter().zip(&lengths).enumerate() {
        let l = l.as_ref();
        if l.len() != len {
            return Err(Error::Length {
                what: format!("labels of sequence {b} (one per valid step)"),
                expected: len,
                got: l.len(),
            });
        }
        rows.extend((0..len).map(|t| b * steps + t));
        flat.extend_from_slice(l);
    }
    let dims = |r: usize| Dims::new(&[r, C::N]).unwrap_or_default();
    let mut valid = logits.scratch_on::<(crate::dim::Dyn, C)>(dims(rows.len()));
    B::gather_rows(logits.storage(), &rows, valid.storage_mut(), C::N);
    let (loss, dvalid) = cross_entropy(&valid, flat.as_slice()).map_err(|e| match e {
        Error::Label { index, label, classes } => {
            let b = rows[index] / steps.max(1);
            Error::Shape(format!(
                "label {label} at step {} of sequence {b} is not a class of 0..{classes}",
                rows[index] % steps.max(1)
            ))
        }
        other => other,
    })?;
    let mut grad = logits.zeros_like();
    B::scatter_add_rows(dvalid.storage(), &rows, grad.storage_mut(), C::N);
    Ok((loss, grad))
}
