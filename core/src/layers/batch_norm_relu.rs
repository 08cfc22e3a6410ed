//! A `BatchNorm` read only by a `Relu`, run as one pass; what `model!` generates for such a
//! pair (every ResNet stem and block: conv → batch norm → ReLU). The forward normalises and
//! rectifies in one pass over the values (the batch norm's output is never written), and the
//! backward forms the batch norm's output gradient `dy ⊙ [y > 0]` inside its own passes
//! instead of in a separate ReLU backward ([`Norm::batch_norm_relu_apply`],
//! [`Norm::batch_norm_relu_backward`]). Both layers keep their caches (the batch norm's input
//! and statistics, the ReLU's output), and the results are those of the two layers run one
//! after the other.
//!
//! [`Norm::batch_norm_relu_apply`]: crate::backend::Norm::batch_norm_relu_apply
//! [`Norm::batch_norm_relu_backward`]: crate::backend::Norm::batch_norm_relu_backward

use super::batch_norm::{bn_backward, bn_eval, bn_train};
use super::{BatchNorm, BatchNormCache, Relu};
use crate::backend::Backend;
use crate::dim::StaticDim;
use crate::error::Result;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Inference: `relu(batch_norm(x))` with the running statistics.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, Tensor, layers::{BatchNorm1d, Relu, batch_norm_relu}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let bn = BatchNorm1d::<typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, typenum::U1), Cpu>::from_batch(&dev, 2, vec![-1.0, 3.0]).unwrap();
/// let y = batch_norm_relu::forward(&bn, &Relu, &x).to_vec();
/// assert!(y[0] == 0.0 && (y[1] - 3.0).abs() < 1e-4);
/// ```
pub fn forward<S: Shape, C: StaticDim, B: Backend>(
    bn: &BatchNorm<C, B>,
    _relu: &Relu,
    x: &Tensor<S, B>,
) -> Tensor<S, B> {
    bn_eval(bn, x, true)
}

/// Training: `relu(batch_norm(x))` with the batch's statistics (the running ones updated), the
/// batch norm's cache and the ReLU's (its output).
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, Tensor, layers::{BatchNorm1d, Relu, batch_norm_relu}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut bn = BatchNorm1d::<typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, typenum::U1), Cpu>::from_batch(&dev, 2, vec![1.0, 3.0]).unwrap();
/// let (y, _bn_cache, relu_cache) = batch_norm_relu::forward_train(&mut bn, &mut Relu, &x);
/// assert_eq!(y.to_vec()[0], 0.0);
/// assert_eq!(relu_cache.to_vec(), y.to_vec());
/// ```
pub fn forward_train<S: Shape, C: StaticDim, B: Backend>(
    bn: &mut BatchNorm<C, B>,
    _relu: &mut Relu,
    x: &Tensor<S, B>,
) -> (Tensor<S, B>, BatchNormCache<B>, Tensor<S, B>) {
    let (y, cache) = bn_train(bn, x, true);
    let saved = y.clone();
    (y, cache, saved)
}

/// The backward of [`forward_train`]: the input gradient and both layers' gradients.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, Tensor, layers::{BatchNorm1d, Relu, batch_norm_relu}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut bn = BatchNorm1d::<typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, typenum::U1), Cpu>::from_batch(&dev, 2, vec![1.0, 3.0]).unwrap();
/// let (y, cb, cr) = batch_norm_relu::forward_train(&mut bn, &mut Relu, &x);
/// let dy = Tensor::<(Dyn, typenum::U1), Cpu>::from_batch(&dev, 2, vec![5.0, 1.0]).unwrap();
/// let (_dx, g_bn, _) = batch_norm_relu::backward(&bn, &Relu, &cb, &cr, &dy).unwrap();
/// // The first value did not pass the ReLU: only the second's gradient reaches the shift.
/// assert_eq!(g_bn.bias.to_vec(), vec![1.0]);
/// ```
pub fn backward<S: Shape, C: StaticDim, B: Backend>(
    bn: &BatchNorm<C, B>,
    relu: &Relu,
    bn_cache: &BatchNormCache<B>,
    relu_cache: &Tensor<S, B>,
    dy: &Tensor<S, B>,
) -> Result<(Tensor<S, B>, BatchNorm<C, B>, Relu)> {
    let (dx, grads) = bn_backward(bn, bn_cache, dy, Some(relu_cache))?;
    Ok((dx, grads, *relu))
}

/// [`backward`] without the input gradient (batch norm computes it on the way to its own
/// gradients, so this only drops it).
///
/// ```
/// use shapeflow_core::{Dyn, Init, Rng, Tensor, layers::{BatchNorm1d, Relu, batch_norm_relu}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut bn = BatchNorm1d::<typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, typenum::U1), Cpu>::from_batch(&dev, 2, vec![1.0, 3.0]).unwrap();
/// let (y, cb, cr) = batch_norm_relu::forward_train(&mut bn, &mut Relu, &x);
/// let (g_bn, _) = batch_norm_relu::backward_params(&bn, &Relu, &cb, &cr, &y).unwrap();
/// assert_eq!(g_bn.weight.to_vec().len(), 1);
/// ```
pub fn backward_params<S: Shape, C: StaticDim, B: Backend>(
    bn: &BatchNorm<C, B>,
    relu: &Relu,
    bn_cache: &BatchNormCache<B>,
    relu_cache: &Tensor<S, B>,
    dy: &Tensor<S, B>,
) -> Result<(BatchNorm<C, B>, Relu)> {
    let (_, grads, relu) = backward(bn, relu, bn_cache, relu_cache, dy)?;
    Ok((grads, relu))
}
