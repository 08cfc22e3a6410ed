//! The normalisation family: batch normalisation (per channel) and layer normalisation (per row).

use super::contract::{Need, check, contract, count};
use super::{Activation, Channels, Elem, Elementwise, Gemm, Linalg};

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
///
/// ```
/// use shapeflow_core::backend::{Device, Moments};
/// let (m, v) = (shapeflow_cpu::Cpu::default().zeros(3), shapeflow_cpu::Cpu::default().zeros(3));
/// let stats = Moments { mean: &m, var: &v };
/// assert_eq!(stats.mean.len(), 3);
/// ```
#[derive(Debug)]
pub struct Moments<'a, S> {
    /// Per-channel mean.
    pub mean: &'a S,
    /// Per-channel (biased) variance.
    pub var: &'a S,
}

/// The gradients batch-norm backward writes.
///
/// ```
/// use shapeflow_core::backend::{BatchNormGrads, Device};
/// let dev = shapeflow_cpu::Cpu::default();
/// let (mut dx, mut dg, mut db) = (dev.zeros(6), dev.zeros(3), dev.zeros(3));
/// let grads = BatchNormGrads { dx: &mut dx, dgamma: &mut dg, dbeta: &mut db };
/// assert_eq!(grads.dx.len(), 6);
/// ```
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

/// Per-row statistics of a layer norm: the mean and the biased variance (`rows` each).
///
/// ```
/// use shapeflow_core::backend::{Device, RowStats};
/// let (m, v) = (shapeflow_cpu::Cpu::default().zeros(2), shapeflow_cpu::Cpu::default().zeros(2));
/// assert_eq!(RowStats { mean: &m, var: &v }.var.len(), 2);
/// ```
#[derive(Debug)]
pub struct RowStats<'a, S> {
    /// Per-row mean.
    pub mean: &'a S,
    /// Per-row (biased) variance.
    pub var: &'a S,
}

/// Where [`Norm::layer_norm`] writes the per-row statistics.
///
/// ```
/// use shapeflow_core::backend::{Device, RowStatsMut};
/// let dev = shapeflow_cpu::Cpu::default();
/// let (mut m, mut v) = (dev.zeros(2), dev.zeros(2));
/// assert_eq!(RowStatsMut { mean: &mut m, var: &mut v }.mean.len(), 2);
/// ```
#[derive(Debug)]
pub struct RowStatsMut<'a, S> {
    /// Per-row mean.
    pub mean: &'a mut S,
    /// Per-row (biased) variance.
    pub var: &'a mut S,
}

/// The gradients layer-norm backward writes; `dgamma`/`dbeta` only with an affine part.
///
/// ```
/// use shapeflow_core::backend::{Device, LayerNormGrads};
/// let mut dx = shapeflow_cpu::Cpu::default().zeros(8);
/// let grads = LayerNormGrads { dx: &mut dx, dgamma: None, dbeta: None };
/// assert!(grads.dgamma.is_none());
/// ```
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
pub trait Norm: Linalg + Elementwise {
    /// Per-channel mean and biased variance of `x`.
    #[track_caller]
    fn channel_moments(
        x: &Self::Storage,
        mean: &mut Self::Storage,
        var: &mut Self::Storage,
        g: Channels,
    ) {
        contract!("Norm::channel_moments", g; x => at_least(count(&[g.outer, g.channels, g.inner])), mean => at_least(Some(g.channels)), var => at_least(Some(g.channels)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::channel_moments_unchecked(x, mean, var, g) }
    }

    /// The kernel behind [`Norm::channel_moments`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Norm::channel_moments`] checks.
    unsafe fn channel_moments_unchecked(
        x: &Self::Storage,
        mean: &mut Self::Storage,
        var: &mut Self::Storage,
        g: Channels,
    );
    /// `y = (x − mean[c]) · invstd[c] · gamma[c] + beta[c]`; `invstd = 1/√(var + eps)`.
    #[track_caller]
    fn batch_norm_apply(
        x: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        beta: &Self::Storage,
        y: &mut Self::Storage,
        g: BatchNormGeom,
    ) {
        let (n, ch) =
            (count(&[g.shape.outer, g.shape.channels, g.shape.inner]), Some(g.shape.channels));
        contract!("Norm::batch_norm_apply", g; x => at_least(n), stats.mean => at_least(ch), stats.var => at_least(ch), gamma => at_least(ch), beta => at_least(ch), y => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::batch_norm_apply_unchecked(x, stats, gamma, beta, y, g) }
    }

    /// The kernel behind [`Norm::batch_norm_apply`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Norm::batch_norm_apply`] checks.
    unsafe fn batch_norm_apply_unchecked(
        x: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        beta: &Self::Storage,
        y: &mut Self::Storage,
        g: BatchNormGeom,
    );
    /// Batch-norm backward in training mode (batch statistics), writing `dx`, `dgamma`, `dbeta`.
    #[track_caller]
    fn batch_norm_backward(
        x: &Self::Storage,
        dy: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        grads: BatchNormGrads<'_, Self::Storage>,
        g: BatchNormGeom,
    ) {
        let (n, ch) =
            (count(&[g.shape.outer, g.shape.channels, g.shape.inner]), Some(g.shape.channels));
        contract!("Norm::batch_norm_backward", g; x => at_least(n), dy => at_least(n), stats.mean => at_least(ch), stats.var => at_least(ch), gamma => at_least(ch), grads.dx => at_least(n), grads.dgamma => at_least(ch), grads.dbeta => at_least(ch));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::batch_norm_backward_unchecked(x, dy, stats, gamma, grads, g) }
    }

    /// The kernel behind [`Norm::batch_norm_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Norm::batch_norm_backward`] checks.
    unsafe fn batch_norm_backward_unchecked(
        x: &Self::Storage,
        dy: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        grads: BatchNormGrads<'_, Self::Storage>,
        g: BatchNormGeom,
    );
    /// `y = relu(batch_norm(x))`: [`Norm::batch_norm_apply`] and then `Relu`'s forward (NaN
    /// passes through) in one pass over the buffers where the backend has it; what `model!`
    /// runs for a `BatchNorm` read only by a `Relu` (`layers::batch_norm_relu`). Defaults to
    /// the two kernels through a scratch buffer.
    ///
    /// ```
    /// use shapeflow_core::backend::{BatchNormGeom, Channels, Device, Moments, Norm};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let (x, mean, var) = (dev.upload(&[1.0, 3.0]), dev.upload(&[2.0]), dev.upload(&[1.0]));
    /// let (gamma, beta, mut y) = (dev.upload(&[1.0]), dev.upload(&[0.0]), dev.zeros(2));
    /// let g = BatchNormGeom { shape: Channels { outer: 2, channels: 1, inner: 1 }, eps: 0.0 };
    /// Cpu::batch_norm_relu_apply(&x, Moments { mean: &mean, var: &var }, &gamma, &beta, &mut y, g);
    /// assert_eq!(Cpu::to_host(&y), vec![0.0, 1.0]);
    /// ```
    #[track_caller]
    fn batch_norm_relu_apply(
        x: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        beta: &Self::Storage,
        y: &mut Self::Storage,
        g: BatchNormGeom,
    ) {
        let (n, ch) =
            (count(&[g.shape.outer, g.shape.channels, g.shape.inner]), Some(g.shape.channels));
        contract!("Norm::batch_norm_relu_apply", g; x => at_least(n), stats.mean => at_least(ch), stats.var => at_least(ch), gamma => at_least(ch), beta => at_least(ch), y => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::batch_norm_relu_apply_unchecked(x, stats, gamma, beta, y, g) }
    }

    /// The kernel behind [`Norm::batch_norm_relu_apply`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Norm::batch_norm_relu_apply`] checks.
    unsafe fn batch_norm_relu_apply_unchecked(
        x: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        beta: &Self::Storage,
        y: &mut Self::Storage,
        g: BatchNormGeom,
    ) {
        let mut z = Self::scratch_like(x, g.shape.len());
        Self::batch_norm_apply(x, stats, gamma, beta, &mut z, g);
        Self::activation(Activation::Relu, &z, y);
    }
    /// [`Norm::batch_norm_backward`] of the gradient through a `Relu` that read the batch
    /// norm's output: `dy` is the gradient of `y = relu(batch_norm(x))`, and the batch norm's
    /// output gradient `dy ⊙ [y > 0]` is formed inside the backward's passes where the
    /// backend has it. Defaults to `Relu`'s backward and then [`Norm::batch_norm_backward`].
    ///
    /// ```
    /// use shapeflow_core::backend::{BatchNormGeom, BatchNormGrads, Channels, Device, Moments, Norm};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let (x, y, dy) = (dev.upload(&[1.0, 3.0]), dev.upload(&[0.0, 1.0]), dev.upload(&[5.0, 1.0]));
    /// let (mean, var, gamma) = (dev.upload(&[2.0]), dev.upload(&[1.0]), dev.upload(&[1.0]));
    /// let (mut dx, mut dgamma, mut dbeta) = (dev.zeros(2), dev.zeros(1), dev.zeros(1));
    /// let grads = BatchNormGrads { dx: &mut dx, dgamma: &mut dgamma, dbeta: &mut dbeta };
    /// let g = BatchNormGeom { shape: Channels { outer: 2, channels: 1, inner: 1 }, eps: 0.0 };
    /// let stats = Moments { mean: &mean, var: &var };
    /// Cpu::batch_norm_relu_backward(&x, &y, &dy, stats, &gamma, grads, g);
    /// // Only the second value passed the ReLU: Σdy = 1, Σdy·x̂ = 1.
    /// assert_eq!((Cpu::to_host(&dbeta), Cpu::to_host(&dgamma)), (vec![1.0], vec![1.0]));
    /// ```
    #[track_caller]
    fn batch_norm_relu_backward(
        x: &Self::Storage,
        y: &Self::Storage,
        dy: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        grads: BatchNormGrads<'_, Self::Storage>,
        g: BatchNormGeom,
    ) {
        let (n, ch) =
            (count(&[g.shape.outer, g.shape.channels, g.shape.inner]), Some(g.shape.channels));
        contract!("Norm::batch_norm_relu_backward", g; x => at_least(n), y => at_least(n), dy => at_least(n), stats.mean => at_least(ch), stats.var => at_least(ch), gamma => at_least(ch), grads.dx => at_least(n), grads.dgamma => at_least(ch), grads.dbeta => at_least(ch));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::batch_norm_relu_backward_unchecked(x, y, dy, stats, gamma, grads, g) }
    }

    /// The kernel behind [`Norm::batch_norm_relu_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Norm::batch_norm_relu_backward`] checks.
    unsafe fn batch_norm_relu_backward_unchecked(
        x: &Self::Storage,
        y: &Self::Storage,
        dy: &Self::Storage,
        stats: Moments<'_, Self::Storage>,
        gamma: &Self::Storage,
        grads: BatchNormGrads<'_, Self::Storage>,
        g: BatchNormGeom,
    ) {
        let mut dz = Self::scratch_like(dy, g.shape.len());
        Self::activation_backward(Activation::Relu, y, dy, &mut dz);
        Self::batch_norm_backward(x, &dz, stats, gamma, grads, g);
    }
    /// Layer normalisation of each row: `y = (x − mean) · rstd · gamma[c] + beta[c]` with
    /// `rstd = 1/√(var + eps)` and the biased variance (PyTorch's `LayerNorm`); without `affine`,
    /// `y = (x − mean) · rstd`. Writes the per-row mean and variance for the backward pass.
    /// Defaults to [`layer_norm_composed`] (batch-norm kernels over rows); backends override it
    /// with a fused kernel.
    #[track_caller]
    fn layer_norm(
        x: &Self::Storage,
        affine: Option<(&Self::Storage, &Self::Storage)>,
        y: &mut Self::Storage,
        stats: RowStatsMut<'_, Self::Storage>,
        g: RowNorm,
    ) {
        let (n, r, cols) = (count(&[g.rows, g.cols]), Some(g.rows), Some(g.cols));
        contract!("Norm::layer_norm", g; x => at_least(n), y => at_least(n), stats.mean => at_least(r), stats.var => at_least(r));
        if let Some((gamma, beta)) = affine {
            contract!("Norm::layer_norm", g; gamma => at_least(cols), beta => at_least(cols));
        }
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::layer_norm_unchecked(x, affine, y, stats, g) }
    }

    /// The kernel behind [`Norm::layer_norm`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Norm::layer_norm`] checks.
    unsafe fn layer_norm_unchecked(
        x: &Self::Storage,
        affine: Option<(&Self::Storage, &Self::Storage)>,
        y: &mut Self::Storage,
        stats: RowStatsMut<'_, Self::Storage>,
        g: RowNorm,
    ) {
        layer_norm_composed::<Self>(x, affine, y, stats, g);
    }
    /// Layer-norm backward: with `xhat = (x − mean)·rstd` and `dxhat = dy ⊙ gamma`,
    /// `dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat ⊙ xhat))` per row;
    /// `dgamma = Σ_rows dy ⊙ xhat`, `dbeta = Σ_rows dy`. Defaults to
    /// [`layer_norm_backward_composed`].
    #[track_caller]
    fn layer_norm_backward(
        x: &Self::Storage,
        dy: &Self::Storage,
        stats: RowStats<'_, Self::Storage>,
        gamma: Option<&Self::Storage>,
        grads: LayerNormGrads<'_, Self::Storage>,
        g: RowNorm,
    ) {
        let (n, r, cols) = (count(&[g.rows, g.cols]), Some(g.rows), Some(g.cols));
        contract!("Norm::layer_norm_backward", g; x => at_least(n), dy => at_least(n), stats.mean => at_least(r), stats.var => at_least(r), grads.dx => at_least(n));
        for (name, buf) in [
            ("gamma", gamma),
            ("grads.dgamma", grads.dgamma.as_deref()),
            ("grads.dbeta", grads.dbeta.as_deref()),
        ] {
            if let Some(buf) = buf {
                check(
                    "Norm::layer_norm_backward",
                    Some(&g),
                    &[Need::at_least(name, Self::len(buf), cols)],
                );
            }
        }
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::layer_norm_backward_unchecked(x, dy, stats, gamma, grads, g) }
    }

    /// The kernel behind [`Norm::layer_norm_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Norm::layer_norm_backward`] checks.
    unsafe fn layer_norm_backward_unchecked(
        x: &Self::Storage,
        dy: &Self::Storage,
        stats: RowStats<'_, Self::Storage>,
        gamma: Option<&Self::Storage>,
        grads: LayerNormGrads<'_, Self::Storage>,
        g: RowNorm,
    ) {
        layer_norm_backward_composed::<Self>(x, dy, stats, gamma, grads, g);
    }
}

/// A row vector `v` (`cols`) repeated `rows` times: the product `ones[rows × 1] · v[1 × cols]`.
pub(crate) fn repeat_rows<B: Norm>(v: &B::Storage, rows: usize, cols: usize) -> B::Storage {
    let ones = B::upload_like(v, &vec![B::Elem::from_f64(1.0); rows]);
    let mut out = B::scratch_like(v, rows * cols);
    B::matmul(&ones, v, &mut out, Gemm::new(rows, 1, cols));
    out
}

/// The batch-norm view of a layer norm: every row a channel of one sample, with unit scale and
/// zero shift.
pub(crate) fn rows_as_channels<B: Norm>(
    like: &B::Storage,
    g: RowNorm,
) -> (BatchNormGeom, B::Storage, B::Storage) {
    let shape = Channels { outer: 1, channels: g.rows, inner: g.cols };
    let ones = B::upload_like(like, &vec![B::Elem::from_f64(1.0); g.rows]);
    (BatchNormGeom { shape, eps: g.eps }, ones, B::zeros_like(like, g.rows))
}

/// [`Norm::layer_norm`] composed from the basic families: per-row moments and normalisation by
/// the batch-norm kernels (each row a channel), the affine part as a product with a repeated
/// `gamma` and a bias add. What a new backend gets before it writes a fused kernel.
///
/// ```
/// use shapeflow_core::backend::{Device, Norm, RowNorm, RowStatsMut, layer_norm_composed};
/// use shapeflow_cpu::Cpu64;
/// let dev = Cpu64::default();
/// let x = dev.upload(&[1.0, 3.0, 2.0, 6.0]);
/// let (mut y, mut m, mut v) = (dev.zeros(4), dev.zeros(2), dev.zeros(2));
/// let g = RowNorm { rows: 2, cols: 2, eps: 0.0 };
/// layer_norm_composed::<Cpu64>(&x, None, &mut y, RowStatsMut { mean: &mut m, var: &mut v }, g);
/// assert_eq!(Cpu64::to_host(&y), vec![-1.0, 1.0, -1.0, 1.0]);
/// assert_eq!((Cpu64::to_host(&m), Cpu64::to_host(&v)), (vec![2.0, 4.0], vec![1.0, 4.0]));
/// ```
pub fn layer_norm_composed<B: Norm>(
    x: &B::Storage,
    affine: Option<(&B::Storage, &B::Storage)>,
    y: &mut B::Storage,
    stats: RowStatsMut<'_, B::Storage>,
    g: RowNorm,
) {
    let (geom, ones, zeros) = rows_as_channels::<B>(x, g);
    B::channel_moments(x, stats.mean, stats.var, geom.shape);
    let moments = Moments { mean: &*stats.mean, var: &*stats.var };
    match affine {
        None => B::batch_norm_apply(x, moments, &ones, &zeros, y, geom),
        Some((gamma, beta)) => {
            let mut xhat = B::scratch_like(x, g.rows * g.cols);
            B::batch_norm_apply(x, moments, &ones, &zeros, &mut xhat, geom);
            B::mul(&xhat, &repeat_rows::<B>(gamma, g.rows, g.cols), y);
            B::add_bias(y, beta, g.rows, g.cols);
        }
    }
}

/// [`Norm::layer_norm_backward`] composed from the basic families: the input gradient is batch
/// norm's training-mode backward over rows (unit scale) applied to `dy ⊙ gamma`; the affine
/// gradients are column sums.
pub fn layer_norm_backward_composed<B: Norm>(
    x: &B::Storage,
    dy: &B::Storage,
    stats: RowStats<'_, B::Storage>,
    gamma: Option<&B::Storage>,
    grads: LayerNormGrads<'_, B::Storage>,
    g: RowNorm,
) {
    let (geom, ones, zeros) = rows_as_channels::<B>(x, g);
    let n = g.rows * g.cols;
    let dxhat = match gamma {
        Some(w) => {
            let mut d = B::scratch_like(dy, n);
            B::mul(dy, &repeat_rows::<B>(w, g.rows, g.cols), &mut d);
            d
        }
        None => dy.clone(),
    };
    let (mut unit_dg, mut unit_db) = (B::scratch_like(x, g.rows), B::scratch_like(x, g.rows));
    let moments = Moments { mean: stats.mean, var: stats.var };
    let per_row = BatchNormGrads { dx: grads.dx, dgamma: &mut unit_dg, dbeta: &mut unit_db };
    B::batch_norm_backward(x, &dxhat, moments, &ones, per_row, geom);
    if let (Some(dgamma), Some(dbeta)) = (grads.dgamma, grads.dbeta) {
        let mut xhat = B::scratch_like(x, n);
        let moments = Moments { mean: stats.mean, var: stats.var };
        B::batch_norm_apply(x, moments, &ones, &zeros, &mut xhat, geom);
        let mut prod = B::scratch_like(x, n);
        B::mul(dy, &xhat, &mut prod);
        B::sum_rows(&prod, dgamma, g.rows, g.cols);
        B::sum_rows(dy, dbeta, g.rows, g.cols);
    }
}
