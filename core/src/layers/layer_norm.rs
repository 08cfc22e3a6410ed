//! `LayerNorm<F>`: normalisation over the trailing `F` features of every position, with an
//! optional learned scale and shift (PyTorch's `nn.LayerNorm(F, eps, elementwise_affine)`).

use num_traits::One;

use crate::backend::{Backend, LayerNormGrads, RowNorm, RowStats, RowStatsMut};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::module::Module;
use crate::rng::Rng;
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;

/// Layer normalisation over the last axis (`F` features):
/// `y = (x − mean) / √(var + eps) · weight + bias`, the statistics per position (biased
/// variance), `weight` and `bias` of shape `[F]` (PyTorch's names; absent without
/// `elementwise_affine`). Accepts `[batch, F]`, `[batch, L, F]` and `[batch, A, L, F]`; the same
/// in training and inference.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor, layers::LayerNorm};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let ln = LayerNorm::<typenum::U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&dev, 1, vec![1.0, 3.0]).unwrap();
/// let y = ln.forward(&x).to_vec();
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[1] - 1.0).abs() < 1e-4);
/// ```
pub struct LayerNorm<F: StaticDim, B: Backend> {
    /// Scale γ, initialised to 1; `None` without `elementwise_affine`.
    pub weight: Option<Tensor<(F,), B>>,
    /// Shift β, initialised to 0; `None` without `elementwise_affine`.
    pub bias: Option<Tensor<(F,), B>>,
    /// Added to the variance.
    pub eps: f64,
}

impl<F: StaticDim, B: Backend> Clone for LayerNorm<F, B> {
    fn clone(&self) -> Self {
        LayerNorm { weight: self.weight.clone(), bias: self.bias.clone(), eps: self.eps }
    }
}

impl<F: StaticDim, B: Backend> std::fmt::Debug for LayerNorm<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let affine = self.weight.is_some();
        write!(f, "LayerNorm({}, eps={}, elementwise_affine={affine})", F::N, self.eps)
    }
}

impl<F: StaticDim, B: Backend> LayerNorm<F, B> {
    /// A layer norm with the given `eps` (PyTorch: 1e-5) and, with `elementwise_affine`, a
    /// learned `weight` (ones) and `bias` (zeros).
    ///
    /// ```
    /// use shapeflow_core::{Module, layers::LayerNorm};
    /// use shapeflow_cpu::Cpu;
    /// let ln = LayerNorm::<typenum::U8, Cpu>::with_config(&Cpu::default(), 1e-6, false);
    /// assert_eq!((ln.eps, ln.num_params()), (1e-6, 0));
    /// ```
    pub fn with_config(dev: &B, eps: f64, elementwise_affine: bool) -> Self {
        let dims = Dims::new(&[F::N]).unwrap_or_default();
        let ones = Tensor::from_parts(dev.upload(&vec![B::Elem::one(); F::N]), dims);
        let zeros = Tensor::from_parts(dev.zeros(F::N), dims);
        let (weight, bias) =
            if elementwise_affine { (Some(ones), Some(zeros)) } else { (None, None) };
        LayerNorm { weight, bias, eps }
    }

    fn geometry(&self, len: usize) -> RowNorm {
        RowNorm { rows: len / F::N, cols: F::N, eps: self.eps }
    }

    fn apply<S: Shape>(&self, x: &Tensor<S, B>) -> (Tensor<S, B>, LayerNormCache<B>) {
        let g = self.geometry(x.len());
        let mut y = x.scratch_like();
        let mut mean = B::scratch_like(x.storage(), g.rows);
        let mut var = B::scratch_like(x.storage(), g.rows);
        let affine =
            self.weight.as_ref().zip(self.bias.as_ref()).map(|(w, b)| (w.storage(), b.storage()));
        let stats = RowStatsMut { mean: &mut mean, var: &mut var };
        B::layer_norm(x.storage(), affine, y.storage_mut(), stats, g);
        (y, LayerNormCache { x: x.storage().clone(), mean, var })
    }

    fn grads<S: Shape>(
        &self,
        cache: &LayerNormCache<B>,
        dy: &Tensor<S, B>,
    ) -> Result<(Tensor<S, B>, Self)> {
        let g = self.geometry(B::len(&cache.x));
        if dy.len() != B::len(&cache.x) {
            return Err(Error::Shape(format!(
                "LayerNorm backward: gradient of {} elements, the forward pass had {}",
                dy.len(),
                B::len(&cache.x)
            )));
        }
        let mut dx = dy.scratch_like();
        let mut grads = self.clone();
        let stats = RowStats { mean: &cache.mean, var: &cache.var };
        let out = LayerNormGrads {
            dx: dx.storage_mut(),
            dgamma: grads.weight.as_mut().map(|t| t.storage_mut()),
            dbeta: grads.bias.as_mut().map(|t| t.storage_mut()),
        };
        let gamma = self.weight.as_ref().map(|w| w.storage());
        B::layer_norm_backward(&cache.x, dy.storage(), stats, gamma, out, g);
        Ok((dx, grads))
    }
}

impl<F: StaticDim, B: Backend> Init<B> for LayerNorm<F, B> {
    fn init(dev: &B, _: &mut Rng) -> Self {
        Self::with_config(dev, 1e-5, true)
    }
}

impl<F: StaticDim, B: Backend> Module<B> for LayerNorm<F, B> {
    crate::visit_param_fields!(weight, bias);
}

/// What layer norm keeps for backward: the input and the per-position statistics.
#[derive(Clone, Debug)]
pub struct LayerNormCache<B: Backend> {
    x: B::Storage,
    mean: B::Storage,
    var: B::Storage,
}

/// `Layer` for each rank whose last axis is `F`.
macro_rules! layer_norm_layer {
    ($($axis:ident),*) => {
        impl<N: Dim, $($axis: Dim,)* F: StaticDim, B: Backend> Layer<(N, $($axis,)* F), B>
            for LayerNorm<F, B>
        {
            type Output = (N, $($axis,)* F);
            type Cache = LayerNormCache<B>;
            fn forward(&self, x: &Tensor<(N, $($axis,)* F), B>) -> Tensor<(N, $($axis,)* F), B> {
                self.apply(x).0
            }
            fn forward_train(
                &mut self,
                x: &Tensor<(N, $($axis,)* F), B>,
            ) -> (Tensor<(N, $($axis,)* F), B>, LayerNormCache<B>) {
                self.apply(x)
            }
            fn backward(
                &self,
                cache: &LayerNormCache<B>,
                dy: &Tensor<(N, $($axis,)* F), B>,
            ) -> Result<(Tensor<(N, $($axis,)* F), B>, Self)> {
                self.grads(cache, dy)
            }
        }
    };
}
layer_norm_layer!();
layer_norm_layer!(L);
layer_norm_layer!(A, L);
