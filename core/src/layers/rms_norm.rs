//! `RmsNorm<F>`: PyTorch's `nn.RMSNorm(F, eps)`, `y = x / √(mean(x²) + eps) · weight` over the
//! last axis, shape unchanged. Composed from the backend families (per-row moments, row scaling,
//! products), so every backend runs it.

use crate::backend::{Backend, Channels, RowNorm};
use crate::backend::{repeat_rows, rows_as_channels};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layers::recurrent::dims;
use crate::module::Module;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Root-mean-square normalisation of the last axis with a learned scale (`weight`, initialised
/// to ones as in PyTorch). `eps` defaults to 1e-6 (`RmsNorm::with_eps` sets it; PyTorch's
/// default, `None`, is the dtype's machine epsilon).
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::RmsNorm;
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let norm = RmsNorm::<typenum::U2, Cpu>::init(&dev, &mut Rng::new(0)).with_eps(0.0);
/// let x = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&dev, 1, vec![3.0, 4.0]).unwrap();
/// let y = norm.forward(&x).to_vec(); // rms = √12.5
/// assert!((y[0] - 3.0 / 12.5f32.sqrt()).abs() < 1e-6);
/// ```
pub struct RmsNorm<F: StaticDim, B: Backend> {
    /// The scale, `[F]`.
    pub weight: Tensor<(F,), B>,
    /// Added to the mean square.
    pub eps: f64,
}

impl<F: StaticDim, B: Backend> Clone for RmsNorm<F, B> {
    fn clone(&self) -> Self {
        RmsNorm { weight: self.weight.clone(), eps: self.eps }
    }
}

impl<F: StaticDim, B: Backend> std::fmt::Debug for RmsNorm<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RmsNorm({}, eps = {})", F::N, self.eps)
    }
}

impl<F: StaticDim, B: Backend> Init<B> for RmsNorm<F, B> {
    fn init(dev: &B, _: &mut Rng) -> Self {
        let ones = vec![<B::Elem as crate::Elem>::from_f64(1.0); F::N];
        RmsNorm { weight: Tensor::from_parts(dev.upload(&ones), dims(&[F::N])), eps: 1e-6 }
    }
}

impl<F: StaticDim, B: Backend> Module<B> for RmsNorm<F, B> {
    crate::visit_param_fields!(weight);
}

/// What backward needs: the input and each row's `1/rms`.
pub struct RmsNormCache<B: Backend> {
    x: B::Storage,
    /// `1 / √(mean(x²) + eps)` per row, on the host.
    inv: Vec<f64>,
    dims: crate::shape::Dims,
}

impl<F: StaticDim, B: Backend> RmsNorm<F, B> {
    /// The same layer with `eps` added to the mean square.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Each row's mean of `x` (as channels of the batch-norm view).
    fn row_means(x: &B::Storage, rows: usize) -> Vec<f64> {
        let g = RowNorm { rows, cols: F::N, eps: 0.0 };
        let (geom, _, _) = rows_as_channels::<B>(x, g);
        let (mut mean, mut var) = (B::zeros_like(x, rows), B::zeros_like(x, rows));
        B::channel_moments(x, &mut mean, &mut var, geom.shape);
        B::to_host(&mean).into_iter().map(crate::Elem::as_f64).collect()
    }

    fn scale_rows(x: &B::Storage, by: &[f64], rows: usize) -> B::Storage {
        let m: Vec<B::Elem> = by.iter().map(|&v| <B::Elem as crate::Elem>::from_f64(v)).collect();
        let mut y = B::scratch_like(x, rows * F::N);
        B::mul_rows_broadcast(x, &B::upload_like(x, &m), &mut y, rows, F::N);
        y
    }

    fn apply<S: crate::shape::Shape>(&self, x: &Tensor<S, B>) -> (Tensor<S, B>, RmsNormCache<B>) {
        let rows = x.len() / F::N;
        let mut sq = B::scratch_like(x.storage(), x.len());
        B::mul(x.storage(), x.storage(), &mut sq);
        let inv: Vec<f64> =
            Self::row_means(&sq, rows).iter().map(|m| 1.0 / (m + self.eps).sqrt()).collect();
        let xn = Self::scale_rows(x.storage(), &inv, rows);
        let mut y = x.scratch_like();
        B::mul(&xn, &repeat_rows::<B>(self.weight.storage(), rows, F::N), y.storage_mut());
        (y, RmsNormCache { x: x.storage().clone(), inv, dims: x.shape() })
    }

    fn grads<S: crate::shape::Shape>(
        &self,
        c: &RmsNormCache<B>,
        dy: &Tensor<S, B>,
    ) -> Result<(Tensor<S, B>, Self)> {
        if dy.shape() != c.dims {
            return Err(Error::Shape(format!(
                "RmsNorm backward: the output gradient has sizes {:?} but the forward pass had {:?}",
                dy.dims(),
                c.dims.as_slice()
            )));
        }
        let rows = dy.len() / F::N;
        let n = rows * F::N;
        // g = dy ⊙ w; dx = inv·g − x·inv³·mean(g ⊙ x); dw = Σ_rows dy ⊙ x·inv
        let mut g = B::scratch_like(dy.storage(), n);
        B::mul(dy.storage(), &repeat_rows::<B>(self.weight.storage(), rows, F::N), &mut g);
        let mut gx = B::scratch_like(&g, n);
        B::mul(&g, &c.x, &mut gx);
        let means = Self::row_means(&gx, rows);
        let cube: Vec<f64> = c.inv.iter().zip(&means).map(|(r, m)| -r * r * r * m).collect();
        let mut dx = Self::scale_rows(&g, &c.inv, rows);
        B::axpy(<B::Elem as num_traits::One>::one(), &Self::scale_rows(&c.x, &cube, rows), &mut dx);
        let xn = Self::scale_rows(&c.x, &c.inv, rows);
        let mut dyx = B::scratch_like(&xn, n);
        B::mul(dy.storage(), &xn, &mut dyx);
        let mut weight = self.weight.scratch_like();
        B::sum_channels(&dyx, weight.storage_mut(), Channels::rows(rows, F::N));
        let mut dxt = dy.scratch_like();
        *dxt.storage_mut() = dx;
        Ok((dxt, RmsNorm { weight, eps: self.eps }))
    }
}

/// `Layer` for each rank whose last axis is `F`.
macro_rules! rms_norm_layer {
    ($($axis:ident),*) => {
        impl<N: Dim, $($axis: Dim,)* F: StaticDim, B: Backend> Layer<(N, $($axis,)* F), B> for RmsNorm<F, B> {
            type Output = (N, $($axis,)* F);
            type Cache = RmsNormCache<B>;
            fn forward(&self, x: &Tensor<(N, $($axis,)* F), B>) -> Tensor<(N, $($axis,)* F), B> {
                self.apply(x).0
            }
            fn forward_train(&mut self, x: &Tensor<(N, $($axis,)* F), B>) -> (Tensor<(N, $($axis,)* F), B>, RmsNormCache<B>) {
                self.apply(x)
            }
            fn backward(&self, c: &RmsNormCache<B>, dy: &Tensor<(N, $($axis,)* F), B>) -> Result<(Tensor<(N, $($axis,)* F), B>, Self)> {
                self.grads(c, dy)
            }
        }
    };
}
rms_norm_layer!();
rms_norm_layer!(L);
rms_norm_layer!(A, L);
