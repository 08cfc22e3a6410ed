//! `BatchNorm1d` / `BatchNorm2d`: normalisation per channel with learned scale and shift and
//! running statistics (PyTorch's momentum, eps, unbiased running variance, train/eval modes).

use num_traits::One;

use crate::backend::{Backend, BatchNormGeom, BatchNormGrads, Channels, Elem, Moments};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::module::{Module, StateFn, StateMut, StateMutFn, StateRef, with_field};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Batch normalisation over `C` channels: `y = (x − mean) / √(var + eps) · weight + bias`.
///
/// `forward_train` normalises with the batch's statistics and updates the running ones
/// (`running = (1 − momentum)·running + momentum·batch`, the variance unbiased); `forward`
/// (inference) uses the running statistics. Accepts `[batch, C]`, `[batch, C, L]` and
/// `[batch, C, H, W]`; [`BatchNorm1d`] and [`BatchNorm2d`] name the usual uses.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor, layers::BatchNorm1d};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut bn = BatchNorm1d::<typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, typenum::U1), Cpu>::from_batch(&dev, 2, vec![1.0, 3.0]).unwrap();
/// let (y, _) = bn.forward_train(&x);
/// assert!((y.to_vec()[0] + 1.0).abs() < 1e-4);
/// assert_eq!(bn.running_mean.to_vec(), vec![0.2]);
/// ```
pub struct BatchNorm<C: StaticDim, B: Backend> {
    /// Scale γ, initialised to 1.
    pub weight: Tensor<(C,), B>,
    /// Shift β, initialised to 0.
    pub bias: Tensor<(C,), B>,
    /// Running mean (a buffer, not a parameter).
    pub running_mean: Tensor<(C,), B>,
    /// Running (unbiased) variance.
    pub running_var: Tensor<(C,), B>,
    /// Training batches seen.
    pub num_batches_tracked: u64,
    /// Added to the variance.
    pub eps: f64,
    /// Weight of the newest batch in the running statistics.
    pub momentum: f64,
}

/// Batch normalisation of `[batch, C]` or `[batch, C, L]` inputs.
pub type BatchNorm1d<C, B> = BatchNorm<C, B>;
/// Batch normalisation of `[batch, C, H, W]` inputs.
pub type BatchNorm2d<C, B> = BatchNorm<C, B>;

impl<C: StaticDim, B: Backend> Clone for BatchNorm<C, B> {
    fn clone(&self) -> Self {
        BatchNorm {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            running_mean: self.running_mean.clone(),
            running_var: self.running_var.clone(),
            num_batches_tracked: self.num_batches_tracked,
            eps: self.eps,
            momentum: self.momentum,
        }
    }
}

impl<C: StaticDim, B: Backend> std::fmt::Debug for BatchNorm<C, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BatchNorm({}, eps={}, momentum={})", C::N, self.eps, self.momentum)
    }
}

impl<C: StaticDim, B: Backend> BatchNorm<C, B> {
    /// A batch-norm layer with the given `eps` and `momentum` (PyTorch: 1e-5 and 0.1).
    ///
    /// ```
    /// use shapeflow_core::layers::BatchNorm2d;
    /// use shapeflow_cpu::Cpu;
    /// let bn = BatchNorm2d::<typenum::U8, Cpu>::with_config(&Cpu::default(), 1e-3, 0.01);
    /// assert_eq!((bn.eps, bn.momentum), (1e-3, 0.01));
    /// ```
    pub fn with_config(dev: &B, eps: f64, momentum: f64) -> Self {
        let ones = |d: &B| Tensor::from_parts(d.upload(&vec![B::Elem::one(); C::N]), dims1(C::N));
        let zeros = |d: &B| Tensor::from_parts(d.zeros(C::N), dims1(C::N));
        BatchNorm {
            weight: ones(dev),
            bias: zeros(dev),
            running_mean: zeros(dev),
            running_var: ones(dev),
            num_batches_tracked: 0,
            eps,
            momentum,
        }
    }

    fn layout(dims: &[usize]) -> (usize, usize, usize) {
        let outer = dims.first().copied().unwrap_or(1);
        let inner: usize = dims.iter().skip(2).product();
        (outer, C::N, inner)
    }
}

fn dims1(n: usize) -> crate::shape::Dims {
    crate::shape::Dims::new(&[n]).unwrap_or_default()
}

impl<C: StaticDim, B: Backend> Init<B> for BatchNorm<C, B> {
    fn init(dev: &B, _: &mut Rng) -> Self {
        Self::with_config(dev, 1e-5, 0.1)
    }
}

impl<C: StaticDim, B: Backend> Module<B> for BatchNorm<C, B> {
    crate::visit_param_fields!(weight, bias);
    fn visit_state(&self, path: &mut String, f: &mut StateFn<'_, B>) {
        let tensors = [
            ("weight", &self.weight),
            ("bias", &self.bias),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
        ];
        for (name, t) in tensors {
            with_field(path, name, |p| f(p, StateRef::Tensor(t.dims(), t.storage())));
        }
        let count = self.num_batches_tracked;
        with_field(path, "num_batches_tracked", |p| f(p, StateRef::Count(count)));
    }
    fn visit_state_mut(&mut self, path: &mut String, f: &mut StateMutFn<'_, B>) {
        let BatchNorm { weight, bias, running_mean, running_var, num_batches_tracked, .. } = self;
        let tensors = [
            ("weight", weight),
            ("bias", bias),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ];
        for (name, t) in tensors {
            let dims = t.shape();
            with_field(path, name, |p| f(p, StateMut::Tensor(dims.as_slice(), t.storage_mut())));
        }
        with_field(path, "num_batches_tracked", |p| f(p, StateMut::Count(num_batches_tracked)));
    }
}

/// What training-mode batch norm keeps for backward: the input and the batch statistics.
#[derive(Clone, Debug)]
pub struct BatchNormCache<B: Backend> {
    x: B::Storage,
    mean: B::Storage,
    var: B::Storage,
    layout: (usize, usize, usize),
}

macro_rules! batch_norm_layer {
    ($($shape:ident),+) => {
        impl<N: Dim, C: StaticDim, $($shape: Dim,)* B: Backend> Layer<(N, C, $($shape),*), B> for BatchNorm<C, B> {
            type Output = (N, C, $($shape),*);
            type Cache = BatchNormCache<B>;
            fn forward(&self, x: &Tensor<(N, C, $($shape),*), B>) -> Tensor<(N, C, $($shape),*), B> {
                bn_eval(self, x, false)
            }
            fn forward_train(&mut self, x: &Tensor<(N, C, $($shape),*), B>) -> (Tensor<(N, C, $($shape),*), B>, BatchNormCache<B>) {
                bn_train(self, x, false)
            }
            fn backward(&self, cache: &BatchNormCache<B>, dy: &Tensor<(N, C, $($shape),*), B>) -> Result<(Tensor<(N, C, $($shape),*), B>, Self)> {
                bn_backward(self, cache, dy, None)
            }
        }
    };
}

impl<N: Dim, C: StaticDim, B: Backend> Layer<(N, C), B> for BatchNorm<C, B> {
    type Output = (N, C);
    type Cache = BatchNormCache<B>;
    fn forward(&self, x: &Tensor<(N, C), B>) -> Tensor<(N, C), B> {
        bn_eval(self, x, false)
    }
    fn forward_train(&mut self, x: &Tensor<(N, C), B>) -> (Tensor<(N, C), B>, BatchNormCache<B>) {
        bn_train(self, x, false)
    }
    fn backward(
        &self,
        cache: &BatchNormCache<B>,
        dy: &Tensor<(N, C), B>,
    ) -> Result<(Tensor<(N, C), B>, Self)> {
        bn_backward(self, cache, dy, None)
    }
}
batch_norm_layer!(L);
batch_norm_layer!(H, W);

/// `y = batch_norm(x)`, or `relu(batch_norm(x))` in one pass with `relu`.
fn apply<S: Shape, C: StaticDim, B: Backend>(
    bn: &BatchNorm<C, B>,
    x: &Tensor<S, B>,
    stats: Moments<'_, B::Storage>,
    shape: Channels,
    relu: bool,
) -> Tensor<S, B> {
    let mut y = x.scratch_like();
    let (g, gamma, beta) = (BatchNormGeom { shape, eps: bn.eps }, &bn.weight, &bn.bias);
    let (x, gamma, beta, out) = (x.storage(), gamma.storage(), beta.storage(), y.storage_mut());
    if relu {
        B::batch_norm_relu_apply(x, stats, gamma, beta, out, g);
    } else {
        B::batch_norm_apply(x, stats, gamma, beta, out, g);
    }
    y
}

/// Inference: normalised with the running statistics (then a ReLU with `relu`).
pub(super) fn bn_eval<S: Shape, C: StaticDim, B: Backend>(
    bn: &BatchNorm<C, B>,
    x: &Tensor<S, B>,
    relu: bool,
) -> Tensor<S, B> {
    let (outer, channels, inner) = BatchNorm::<C, B>::layout(x.dims());
    let stats = Moments { mean: bn.running_mean.storage(), var: bn.running_var.storage() };
    apply(bn, x, stats, Channels { outer, channels, inner }, relu)
}

/// Training: normalised with the batch's statistics (then a ReLU with `relu`), the running
/// statistics updated.
pub(super) fn bn_train<S: Shape, C: StaticDim, B: Backend>(
    bn: &mut BatchNorm<C, B>,
    x: &Tensor<S, B>,
    relu: bool,
) -> (Tensor<S, B>, BatchNormCache<B>) {
    let (outer, channels, inner) = BatchNorm::<C, B>::layout(x.dims());
    let mut mean = B::scratch_like(x.storage(), channels);
    let mut var = B::scratch_like(x.storage(), channels);
    let shape = Channels { outer, channels, inner };
    B::channel_moments(x.storage(), &mut mean, &mut var, shape);
    let y = apply(bn, x, Moments { mean: &mean, var: &var }, shape, relu);
    let m = (outer * inner) as f64;
    let keep = B::Elem::from_f64(1.0 - bn.momentum);
    B::scale(bn.running_mean.storage_mut(), keep);
    B::axpy(B::Elem::from_f64(bn.momentum), &mean, bn.running_mean.storage_mut());
    B::scale(bn.running_var.storage_mut(), keep);
    let unbias = if m > 1.0 { m / (m - 1.0) } else { 1.0 };
    B::axpy(B::Elem::from_f64(bn.momentum * unbias), &var, bn.running_var.storage_mut());
    bn.num_batches_tracked += 1;
    let cache =
        BatchNormCache { x: x.storage().clone(), mean, var, layout: (outer, channels, inner) };
    (y, cache)
}

/// The training backward; with `relu_out` (the output of a ReLU that read this layer's
/// output), `dy` is the ReLU's output gradient.
pub(super) fn bn_backward<S: Shape, C: StaticDim, B: Backend>(
    bn: &BatchNorm<C, B>,
    cache: &BatchNormCache<B>,
    dy: &Tensor<S, B>,
    relu_out: Option<&Tensor<S, B>>,
) -> Result<(Tensor<S, B>, BatchNorm<C, B>)> {
    let (outer, channels, inner) = cache.layout;
    if dy.len() != outer * channels * inner {
        return Err(Error::Shape(format!(
            "BatchNorm backward: gradient of {} elements, the forward pass had {}",
            dy.len(),
            outer * channels * inner
        )));
    }
    if let Some(y) = relu_out {
        y.check_same_dims(dy, "BatchNorm → Relu backward: the ReLU's output and its gradient")?;
    }
    let mut dx = dy.scratch_like();
    let mut grads = bn.clone();
    let stats = Moments { mean: &cache.mean, var: &cache.var };
    let out = BatchNormGrads {
        dx: dx.storage_mut(),
        dgamma: grads.weight.storage_mut(),
        dbeta: grads.bias.storage_mut(),
    };
    let g = BatchNormGeom { shape: Channels { outer, channels, inner }, eps: bn.eps };
    let (gamma, dy) = (bn.weight.storage(), dy.storage());
    match relu_out {
        Some(y) => B::batch_norm_relu_backward(&cache.x, y.storage(), dy, stats, gamma, out, g),
        None => B::batch_norm_backward(&cache.x, dy, stats, gamma, out, g),
    }
    Ok((dx, grads))
}
