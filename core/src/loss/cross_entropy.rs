//! Cross-entropy from logits with integer class labels (fused log-softmax).

use crate::backend::{Backend, Elem};
use crate::dim::{Dim, StaticDim};
use crate::error::Result;
use crate::tensor::Tensor;

use super::{LabelsFor, LossGrad};
use super::{at_least_two_classes, check_labels, finite};

/// Mean cross-entropy of `logits` (`[batch, classes]`) against class `labels`, and its gradient
/// `(softmax(logits) − onehot) / batch`. A label outside `0..classes` is an `Err`, and so is a
/// single class ([`at_least_two_classes`](super::at_least_two_classes)).
///
/// ```
/// use shapeflow_core::{Dyn, Tensor, loss::cross_entropy};
/// use shapeflow_cpu::Cpu;
/// let logits = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&Cpu::default(), 1, vec![0.0, 0.0]).unwrap();
/// let (loss, grad) = cross_entropy(&logits, &[1]).unwrap();
/// assert!((loss - std::f64::consts::LN_2).abs() < 1e-6);
/// assert_eq!(grad.to_vec(), vec![0.5, -0.5]);
/// assert!(cross_entropy(&logits, &[2]).is_err());
/// ```
pub fn cross_entropy<N: Dim, C: StaticDim, B: Backend, L: LabelsFor<C>>(
    logits: &Tensor<(N, C), B>,
    labels: L,
) -> Result<LossGrad<(N, C), B>> {
    let labels = labels.class_labels();
    let rows = logits.batch();
    at_least_two_classes(C::N)?;
    check_labels(labels, rows, C::N)?;
    let mut logp = logits.scratch_like();
    B::log_softmax_rows(logits.storage(), logp.storage_mut(), rows, C::N);
    let loss = finite(
        "cross-entropy",
        B::nll_sum(logp.storage(), labels, rows, C::N) / rows.max(1) as f64,
    )?;
    let mut grad = logits.scratch_like();
    let scale = B::Elem::from_f64(1.0 / rows.max(1) as f64);
    B::softmax_minus_onehot(logp.storage(), labels, grad.storage_mut(), rows, C::N, scale);
    Ok((loss, grad))
}
