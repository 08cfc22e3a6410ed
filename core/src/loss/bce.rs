//! Binary cross-entropy with logits (stable: never forms `log(σ(x))` directly).

use crate::backend::{Backend, Elem};
use crate::error::{Error, Result};
use crate::operand::SameShapeAs;
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::LossGrad;
use super::finite;

/// Mean of `max(x,0) − x·t + ln(1 + e^−|x|)` over all elements (PyTorch's
/// `BCEWithLogitsLoss`), and its gradient `(σ(x) − t) / n`. Targets are probabilities in `[0, 1]`.
///
/// ```
/// use shapeflow_core::{Tensor, loss::bce_with_logits};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let x = Tensor::<(typenum::U1,), Cpu>::from_vec(&dev, &[1], vec![0.0]).unwrap();
/// let t = Tensor::<(typenum::U1,), Cpu>::from_vec(&dev, &[1], vec![1.0]).unwrap();
/// let (loss, grad) = bce_with_logits(&x, &t).unwrap();
/// assert!((loss - std::f64::consts::LN_2).abs() < 1e-6);
/// assert_eq!(grad.to_vec(), vec![-0.5]);
/// ```
pub fn bce_with_logits<S: Shape, B: Backend, R: SameShapeAs<Tensor<S, B>>>(
    logits: &Tensor<S, B>,
    targets: R,
) -> Result<LossGrad<S, B>> {
    let targets = targets.operand();
    logits.check_same_dims(targets, "binary cross-entropy: logits and targets")?;
    if let Some((i, t)) = targets
        .to_vec()
        .into_iter()
        .enumerate()
        .find(|(_, t)| !(t.as_f64() >= 0.0 && t.as_f64() <= 1.0))
    {
        return Err(Error::Shape(format!(
            "binary cross-entropy: target {t} at position {i} is outside [0, 1] (targets are probabilities)"
        )));
    }
    let n = logits.len().max(1) as f64;
    let mut grad = logits.scratch_like();
    let sum = B::bce_with_logits(
        logits.storage(),
        targets.storage(),
        grad.storage_mut(),
        B::Elem::from_f64(1.0 / n),
    );
    let loss = finite("binary cross-entropy", sum / n)?;
    Ok((loss, grad))
}
