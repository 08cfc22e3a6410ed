//! `impl Norm for CpuDevice`: batch normalisation over `[outer, channels, inner]` buffers
//! (moments, apply, backward) and layer normalisation per row (`layer_norm.rs`).

use shapeflow_core::Elem;
use shapeflow_core::backend::{
    BatchNormGeom, BatchNormGrads, Channels, LayerNormGrads, Moments, Norm, RowNorm, RowStats,
    RowStatsMut,
};

use crate::{CpuBuf, CpuDevice, CpuElem};

impl<E: CpuElem> Norm for CpuDevice<E> {
    fn channel_moments(x: &CpuBuf<E>, mean: &mut CpuBuf<E>, var: &mut CpuBuf<E>, g: Channels) {
        channel_moments(x, mean, var, g);
    }
    fn batch_norm_apply(
        x: &CpuBuf<E>,
        stats: Moments<'_, CpuBuf<E>>,
        gamma: &CpuBuf<E>,
        beta: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        g: BatchNormGeom,
    ) {
        batch_norm_apply(x, (stats.mean, stats.var), (gamma, beta), y, g);
    }
    fn batch_norm_backward(
        x: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        stats: Moments<'_, CpuBuf<E>>,
        gamma: &CpuBuf<E>,
        grads: BatchNormGrads<'_, CpuBuf<E>>,
        g: BatchNormGeom,
    ) {
        batch_norm_backward(x, dy, (stats.mean, stats.var), gamma, grads, g);
    }
    fn layer_norm(
        x: &CpuBuf<E>,
        affine: Option<(&CpuBuf<E>, &CpuBuf<E>)>,
        y: &mut CpuBuf<E>,
        stats: RowStatsMut<'_, CpuBuf<E>>,
        g: RowNorm,
    ) {
        crate::layer_norm::forward(x, affine.map(|(w, b)| (&w[..], &b[..])), y, stats, g);
    }
    fn layer_norm_backward(
        x: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        stats: RowStats<'_, CpuBuf<E>>,
        gamma: Option<&CpuBuf<E>>,
        grads: LayerNormGrads<'_, CpuBuf<E>>,
        g: RowNorm,
    ) {
        crate::layer_norm::backward(x, dy, stats, gamma.map(|w| &w[..]), grads, g);
    }
}

/// Visits `x[o, c, i]` for one channel.
fn channel<E: Copy>(
    x: &[E],
    c: usize,
    outer: usize,
    channels: usize,
    inner: usize,
) -> impl Iterator<Item = E> + '_ {
    (0..outer).flat_map(move |o| {
        x[(o * channels + c) * inner..(o * channels + c + 1) * inner].iter().copied()
    })
}

fn sizes_ok<E>(x: &[E], outer: usize, channels: usize, inner: usize) -> bool {
    x.len() >= outer * channels * inner && outer * inner > 0
}

/// Mean and biased variance per channel (two passes, accumulated in f64).
fn channel_moments<E: Elem>(x: &[E], mean: &mut [E], var: &mut [E], g: Channels) {
    let Channels { outer, channels, inner } = g;
    if !sizes_ok(x, outer, channels, inner) {
        mean.iter_mut().chain(var.iter_mut()).for_each(|v| *v = E::zero());
        return;
    }
    let m = (outer * inner) as f64;
    for c in 0..channels.min(mean.len()).min(var.len()) {
        let mu = channel(x, c, outer, channels, inner).map(|v| v.as_f64()).sum::<f64>() / m;
        let v =
            channel(x, c, outer, channels, inner).map(|v| (v.as_f64() - mu).powi(2)).sum::<f64>()
                / m;
        mean[c] = E::from_f64(mu);
        var[c] = E::from_f64(v);
    }
}

/// `y = (x − mean)·invstd·gamma + beta` per channel.
fn batch_norm_apply<E: Elem>(
    x: &[E],
    (mean, var): (&[E], &[E]),
    (gamma, beta): (&[E], &[E]),
    y: &mut [E],
    g: BatchNormGeom,
) {
    let (Channels { outer, channels, inner }, eps) = (g.shape, g.eps);
    if !sizes_ok(x, outer, channels, inner) || y.len() < x.len() {
        return;
    }
    for o in 0..outer {
        for c in 0..channels {
            let invstd = E::from_f64(1.0 / (var[c].as_f64() + eps).sqrt());
            let scale = invstd * gamma[c];
            let shift = beta[c] - mean[c] * scale;
            let at = (o * channels + c) * inner;
            for (yv, &xv) in y[at..at + inner].iter_mut().zip(&x[at..at + inner]) {
                *yv = xv * scale + shift;
            }
        }
    }
}

/// Training-mode backward: `dx = γ·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))`.
fn batch_norm_backward<E: CpuElem>(
    x: &[E],
    dy: &[E],
    (mean, var): (&[E], &[E]),
    gamma: &[E],
    grads: BatchNormGrads<'_, CpuBuf<E>>,
    g: BatchNormGeom,
) {
    let (Channels { outer, channels, inner }, eps) = (g.shape, g.eps);
    let BatchNormGrads { dx, dgamma, dbeta } = grads;
    if !sizes_ok(x, outer, channels, inner) || dy.len() < x.len() || dx.len() < x.len() {
        return;
    }
    let m = (outer * inner) as f64;
    for c in 0..channels {
        let mu = mean[c].as_f64();
        let invstd = 1.0 / (var[c].as_f64() + eps).sqrt();
        let (mut sum_dy, mut sum_dy_xhat) = (0.0f64, 0.0f64);
        for (xv, g) in
            channel(x, c, outer, channels, inner).zip(channel(dy, c, outer, channels, inner))
        {
            sum_dy += g.as_f64();
            sum_dy_xhat += g.as_f64() * (xv.as_f64() - mu) * invstd;
        }
        dbeta[c] = E::from_f64(sum_dy);
        dgamma[c] = E::from_f64(sum_dy_xhat);
        let k = gamma[c].as_f64() * invstd / m;
        for o in 0..outer {
            let at = (o * channels + c) * inner;
            for i in at..at + inner {
                let xhat = (x[i].as_f64() - mu) * invstd;
                dx[i] = E::from_f64(k * (m * dy[i].as_f64() - sum_dy - xhat * sum_dy_xhat));
            }
        }
    }
}
