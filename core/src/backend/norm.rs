//! The normalisation family: batch normalisation (per channel) and layer normalisation (per row).

use super::{Channels, Device};

/// Batch-norm geometry: an `outer × channels × inner` buffer normalised per channel, and `eps`.
///
/// ```
/// use shapeflow_core::backend::{BatchNormGeom, Channels};
/// let g = BatchNormGeom { shape: Channels { outer: 8, channels: 16, inner: 49 }, eps: 1e-5 };
/// assert_eq!(g.shape.len(), 8 * 16 * 49);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormGeom {
    /// The buffer's layout.
    pub shape: Channels,
    /// Added to the variance.
    pub eps: f64,
}

/// Per-channel statistics: mean and biased variance.
#[derive(Debug)]
pub struct Moments<'a, S> {
    /// Per-channel mean.
    pub mean: &'a S,
    /// Per-channel (biased) variance.
    pub var: &'a S,
}

/// The gradients batch-norm backward writes.
#[derive(Debug)]
pub struct BatchNormGrads<'a, S> {
    /// Input gradient.
    pub dx: &'a mut S,
    /// Scale (`weight`) gradient.
    pub dgamma: &'a mut S,
    /// Shift (`bias`) gradient.
    pub dbeta: &'a mut S,
}

/// LayerNorm geometry: `rows × cols`, normalised over the trailing `cols` features of each row
/// (PyTorch's `normalized_shape`), and `eps`.
///
/// ```
/// let g = shapeflow_core::backend::RowNorm { rows: 4, cols: 8, eps: 1e-5 };
/// assert_eq!(g.rows * g.cols, 32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowNorm {
    /// Rows (every position of every sample).
    pub rows: usize,
    /// Features normalised together.
    pub cols: usize,
    /// Added to the variance.
    pub eps: f64,
}

/// Per-row statistics of a layer norm: the mean and `rstd = 1/√(var + eps)` (`rows` each).
#[derive(Debug)]
pub struct RowStats<'a, S> {
    /// Per-row mean.
    pub mean: &'a S,
    /// Per-row reciprocal standard deviation.
    pub rstd: &'a S,
}

/// Where [`Norm::layer_norm`] writes the per-row statistics.
#[derive(Debug)]
pub struct RowStatsMut<'a, S> {
    /// Per-row mean.
    pub mean: &'a mut S,
    /// Per-row reciprocal standard deviation.
    pub rstd: &'a mut S,
}

/// The gradients layer-norm backward writes; `dgamma`/`dbeta` only with an affine part.
#[derive(Debug)]
pub struct LayerNormGrads<'a, S> {
    /// Input gradient.
    pub dx: &'a mut S,
    /// Scale (`weight`) gradient, `cols` long.
    pub dgamma: Option<&'a mut S>,
    /// Shift (`bias`) gradient, `cols` long.
    pub dbeta: Option<&'a mut S>,
}

/// Normalisation kernels: batch norm per channel, layer norm per row.
///
/// ```
/// use shapeflow_core::backend::{Channels, Device, Norm};
/// use shapeflow_cpu::Cpu;
/// let x = Cpu::default().upload(&[1.0, 3.0]);
/// let (mut m, mut v) = (Cpu::default().zeros(1), Cpu::default().zeros(1));
/// Cpu::channel_moments(&x, &mut m, &mut v, Channels { outer: 2, channels: 1, inner: 1 });
/// assert_eq!((Cpu::to_host(&m), Cpu::to_host(&v)), (vec![2.0], vec![1.0]));
/// ```
pub trait Norm: Device {
    /// Per-channel mean and biased variance of `x`.
    fn channel_moments(
        x: &Self::Storage,
        mean: &mut Self::Storage,
        var: &mut Self::Storage,
        g: Channels,
    );
    /// `y = (x − mean[c]) · invstd[c] · gamma[c] + beta[c]`; `invstd = 1/√(var + eps)`.
    fn batch_norm_apply(
        x: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        beta: &Self::Storage,
        y: &mut Self::Storage,
        g: BatchNormGeom,
    );
    /// Batch-norm backward in training mode (batch statistics), writing `dx`, `dgamma`, `dbeta`.
    fn batch_norm_backward(
        x: &Self::Storage,
        dy: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        grads: BatchNormGrads<'_, Self::Storage>,
        g: BatchNormGeom,
    );
    /// Layer normalisation of each row: `y = (x − mean) · rstd · gamma[c] + beta[c]` with
    /// `rstd = 1/√(var + eps)` and the biased variance (PyTorch's `LayerNorm`); without `affine`,
    /// `y = (x − mean) · rstd`. Writes the per-row statistics for the backward pass.
    fn layer_norm(
        x: &Self::Storage,
        affine: Option<(&Self::Storage, &Self::Storage)>,
        y: &mut Self::Storage,
        stats: RowStatsMut<'_, Self::Storage>,
        g: RowNorm,
    );
    /// Layer-norm backward: with `xhat = (x − mean)·rstd` and `dxhat = dy ⊙ gamma`,
    /// `dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat ⊙ xhat))` per row;
    /// `dgamma = Σ_rows dy ⊙ xhat`, `dbeta = Σ_rows dy`.
    fn layer_norm_backward(
        x: &Self::Storage,
        dy: &Self::Storage,
        stats: RowStats<'_, Self::Storage>,
        gamma: Option<&Self::Storage>,
        grads: LayerNormGrads<'_, Self::Storage>,
        g: RowNorm,
    );
}
