//! Gradient clipping, PyTorch's `clip_grad_norm_` and `clip_grad_value_`, applied to a gradients
//! value (the model type reused).

use crate::backend::{Backend, Elem};
use crate::error::{Error, Result};
use crate::module::Module;

/// Scales every gradient so their global L2 norm is at most `max_norm`; returns the norm before
/// clipping. A non-finite norm is an `Err` (the gradients are left untouched).
///
/// ```
/// use shapeflow_core::{Tensor, optim::clip_grad_norm};
/// use shapeflow_cpu::Cpu;
/// let mut g = Tensor::<(typenum::U2,), Cpu>::from_vec(&Cpu::default(), &[2], vec![3.0, 4.0]).unwrap();
/// assert_eq!(clip_grad_norm(&mut g, 1.0).unwrap(), 5.0);
/// let v = g.to_vec();
/// assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm<M: Module<B>, B: Backend>(grads: &mut M, max_norm: f64) -> Result<f64> {
    let mut total = 0.0f64;
    grads.visit_params(&mut String::new(), &mut |_, _, s| total += B::sum_squares(s));
    let norm = total.sqrt();
    if !norm.is_finite() {
        return Err(Error::NonFinite(format!("gradient norm is {norm}")));
    }
    // PyTorch: clip_coef = max_norm / (norm + 1e-6), applied when below 1.
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let c = B::Elem::from_f64(coef);
        grads.visit_params_mut(&mut String::new(), &mut |_, _, s| B::scale(s, c));
    }
    Ok(norm)
}

/// Clamps every gradient element to `[-clip, clip]`.
///
/// ```
/// use shapeflow_core::{Tensor, optim::clip_grad_value};
/// use shapeflow_cpu::Cpu;
/// let mut g = Tensor::<(typenum::U2,), Cpu>::from_vec(&Cpu::default(), &[2], vec![-3.0, 0.5]).unwrap();
/// clip_grad_value(&mut g, 1.0);
/// assert_eq!(g.to_vec(), vec![-1.0, 0.5]);
/// ```
pub fn clip_grad_value<M: Module<B>, B: Backend>(grads: &mut M, clip: f64) {
    grads.visit_params_mut(&mut String::new(), &mut |_, _, s| B::clamp(s, -clip, clip));
}
