//! Mean squared error.

use crate::backend::{Backend, Elem};
use crate::error::Result;
use crate::operand::SameShapeAs;
use crate::shape::Shape;
use crate::tensor::Tensor;

use super::LossGrad;
use super::finite;

/// Mean of `(pred − target)²` over all elements, and its gradient `2 (pred − target) / n`.
/// Both tensors must have the same shape (compile time) and sizes (run time).
///
/// ```
/// use shapeflow_core::{Tensor, loss::mse_loss};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let p = Tensor::<(typenum::U2,), Cpu>::from_vec(&dev, &[2], vec![1.0, 3.0]).unwrap();
/// let t = Tensor::<(typenum::U2,), Cpu>::from_vec(&dev, &[2], vec![0.0, 0.0]).unwrap();
/// let (loss, grad) = mse_loss(&p, &t).unwrap();
/// assert_eq!(loss, 5.0);
/// assert_eq!(grad.to_vec(), vec![1.0, 3.0]);
/// ```
pub fn mse_loss<S: Shape, B: Backend, R: SameShapeAs<Tensor<S, B>>>(
    pred: &Tensor<S, B>,
    target: R,
) -> Result<LossGrad<S, B>> {
    let target = target.operand();
    let mut diff = pred.sub_same(target)?;
    let n = pred.len().max(1) as f64;
    let loss = finite("MSE", B::sum_squares(diff.storage()) / n)?;
    B::scale(diff.storage_mut(), B::Elem::from_f64(2.0 / n));
    Ok((loss, diff))
}
