//! Losses. Each returns the loss (mean over the batch, as PyTorch's default `reduction='mean'`)
//! and its gradient with respect to the prediction; a non-finite loss is an `Err`.

mod bce;
mod cross_entropy;
mod cross_entropy_steps;
mod labels;
mod mse;
mod nll;

pub use bce::bce_with_logits;
pub use cross_entropy::cross_entropy;
pub use cross_entropy_steps::cross_entropy_steps;
pub use labels::{ClassLabels, Labels, LabelsFor};
pub use mse::mse_loss;
pub use nll::nll_loss;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// What a loss returns: its value and its gradient with respect to the prediction.
pub type LossGrad<S, B> = (f64, Tensor<S, B>);

/// Checks a batch of class labels: one per row, each below `classes` (an `Err` naming the
/// count or the first label out of range).
///
/// ```
/// use shapeflow_core::loss::check_labels;
/// assert!(check_labels(&[0, 2], 2, 3).is_ok());
/// assert!(check_labels(&[0, 3], 2, 3).is_err());
/// assert!(check_labels(&[0], 2, 3).is_err());
/// ```
pub fn check_labels(labels: &[usize], rows: usize, classes: usize) -> Result<()> {
    if labels.len() != rows {
        return Err(Error::Length {
            what: "class labels for the batch".into(),
            expected: rows,
            got: labels.len(),
        });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
        return Err(Error::Label { index, label, classes });
    }
    Ok(())
}

/// An `Err` for cross-entropy over fewer than two classes: over one, softmax is 1 whatever the
/// logit, so the loss is 0 and nothing would be learned (silently).
///
/// ```
/// use shapeflow_core::loss::at_least_two_classes;
/// assert!(at_least_two_classes(2).is_ok());
/// assert!(at_least_two_classes(1).unwrap_err().to_string().contains("BceWithLogits"));
/// ```
pub fn at_least_two_classes(classes: usize) -> Result<()> {
    if classes >= 2 {
        return Ok(());
    }
    Err(Error::Config(format!(
        "cross-entropy over {classes} class is 0 whatever the logit, so nothing would be learned; for one logit per sample (a yes/no output) use `bce_with_logits` (`LossFn::BceWithLogits` in `fit`) with float targets, or give the model 2 outputs"
    )))
}

/// Turns a loss value into an `Err` when it is NaN or infinite.
pub(crate) fn finite(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NonFinite(format!(
            "{name} loss is {value}; check the learning rate and the inputs"
        )))
    }
}
