//! Negative log-likelihood of log-probabilities with integer class labels.

use crate::backend::{Backend, Elem};
use crate::dim::{Dim, StaticDim};
use crate::error::Result;
use crate::tensor::Tensor;

use super::{LabelsFor, LossGrad};
use super::{check_labels, finite};

/// Mean `−logp[r, labels[r]]` over the batch, and its gradient (`−1/batch` at each label).
/// Pair it with a `LogSoftmax` layer; a label outside `0..classes` is an `Err`.
///
/// ```
/// use shapeflow_core::{Dyn, Tensor, loss::nll_loss};
/// use shapeflow_cpu::Cpu;
/// let logp = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&Cpu::default(), 2, vec![-1.0, -2.0, -3.0, -4.0]).unwrap();
/// let (loss, grad) = nll_loss(&logp, &[0, 1]).unwrap();
/// assert_eq!(loss, 2.5);
/// assert_eq!(grad.to_vec(), vec![-0.5, 0.0, 0.0, -0.5]);
/// ```
pub fn nll_loss<N: Dim, C: StaticDim, B: Backend, L: LabelsFor<C>>(
    logp: &Tensor<(N, C), B>,
    labels: L,
) -> Result<LossGrad<(N, C), B>> {
    let labels = labels.class_labels();
    let rows = logp.batch();
    check_labels(labels, rows, C::N)?;
    let loss = finite("NLL", B::nll_sum(logp.storage(), labels, rows, C::N) / rows.max(1) as f64)?;
    let mut grad = logp.scratch_like();
    B::neg_onehot(
        labels,
        grad.storage_mut(),
        rows,
        C::N,
        B::Elem::from_f64(1.0 / rows.max(1) as f64),
    );
    Ok((loss, grad))
}
