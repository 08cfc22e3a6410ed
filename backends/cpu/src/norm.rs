//! `impl Norm for CpuDevice`: batch normalisation over `[outer, channels, inner]` buffers
//! (moments, apply, backward) and layer normalisation per row (statistics accumulated in `f64`,
//! rows in parallel above 32k values).

use rayon::prelude::*;
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
        layer_norm_forward(x, affine.map(|(w, b)| (&w[..], &b[..])), y, stats, g);
    }
    fn layer_norm_backward(
        x: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        stats: RowStats<'_, CpuBuf<E>>,
        gamma: Option<&CpuBuf<E>>,
        grads: LayerNormGrads<'_, CpuBuf<E>>,
        g: RowNorm,
    ) {
        layer_norm_backward(x, dy, stats, gamma.map(|w| &w[..]), grads, g);
    }
}

/// The sum over channel `c`'s values of `f(x)` (and of `f(x, dy)` pairs below), in `f64`, one
/// `inner`-long slice per outer index.
fn channel_sum<E: Elem>(x: &[E], c: usize, g: Channels, f: impl Fn(f64) -> f64) -> f64 {
    let Channels { outer, channels, inner } = g;
    (0..outer)
        .map(|o| {
            let at = (o * channels + c) * inner;
            x[at..at + inner].iter().map(|v| f(v.as_f64())).sum::<f64>()
        })
        .sum()
}

fn sizes_ok<E>(x: &[E], outer: usize, channels: usize, inner: usize) -> bool {
    x.len() >= outer * channels * inner && outer * inner > 0
}

/// Below this many values per task, batch-norm work is not split further.
const BN_GRAIN: usize = 1 << 13;

/// Mean and biased variance per channel (two passes, accumulated in f64), channels in
/// parallel (each channel's sums in a fixed order: results do not depend on scheduling).
fn channel_moments<E: Elem>(x: &[E], mean: &mut [E], var: &mut [E], g: Channels) {
    let Channels { outer, channels, inner } = g;
    if !sizes_ok(x, outer, channels, inner) || mean.len() < channels || var.len() < channels {
        mean.iter_mut().chain(var.iter_mut()).for_each(|v| *v = E::zero());
        return;
    }
    let m = (outer * inner) as f64;
    let per_channel = (BN_GRAIN / (outer * inner).max(1)).max(1);
    mean[..channels]
        .par_iter_mut()
        .zip(var[..channels].par_iter_mut())
        .enumerate()
        .with_min_len(per_channel)
        .for_each(|(c, (mean, var))| {
            let mu = channel_sum(x, c, g, |v| v) / m;
            let v = channel_sum(x, c, g, |v| (v - mu).powi(2)) / m;
            *mean = E::from_f64(mu);
            *var = E::from_f64(v);
        });
}

/// `y = (x − mean)·invstd·gamma + beta` per channel, `inner`-long slices in parallel.
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
    let n = outer * channels * inner;
    y[..n]
        .par_chunks_mut(inner)
        .zip(x[..n].par_chunks(inner))
        .enumerate()
        .with_min_len((BN_GRAIN / inner).max(1))
        .for_each(|(k, (ys, xs))| {
            let c = k % channels;
            let invstd = E::from_f64(1.0 / (var[c].as_f64() + eps).sqrt());
            let scale = invstd * gamma[c];
            let shift = beta[c] - mean[c] * scale;
            for (yv, &xv) in ys.iter_mut().zip(xs) {
                *yv = xv * scale + shift;
            }
        });
}

/// Training-mode backward: `dx = γ·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))`. The per-channel sums
/// run channels in parallel, then `dx` in parallel over `inner`-long slices.
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
    if !sizes_ok(x, outer, channels, inner)
        || dy.len() < x.len()
        || dx.len() < x.len()
        || dgamma.len() < channels
        || dbeta.len() < channels
    {
        return;
    }
    let m = (outer * inner) as f64;
    let invstd = |c: usize| 1.0 / (var[c].as_f64() + eps).sqrt();
    let per_channel = (BN_GRAIN / (outer * inner).max(1)).max(1);
    // (Σdy, Σdy·x̂) per channel, in a pooled buffer (a steady-state step allocates nothing).
    let mut sums = CpuBuf::<f64>::scratch(2 * channels);
    sums.par_chunks_mut(2).enumerate().with_min_len(per_channel).for_each(|(c, out)| {
        let (mu, is) = (mean[c].as_f64(), invstd(c));
        let (mut sum_dy, mut sum_dy_xhat) = (0.0f64, 0.0f64);
        for o in 0..outer {
            let at = (o * channels + c) * inner;
            for (xv, gv) in x[at..at + inner].iter().zip(&dy[at..at + inner]) {
                let gv = gv.as_f64();
                sum_dy += gv;
                sum_dy_xhat += gv * (xv.as_f64() - mu) * is;
            }
        }
        out[0] = sum_dy;
        out[1] = sum_dy_xhat;
    });
    for (c, pair) in sums.chunks(2).enumerate() {
        dbeta[c] = E::from_f64(pair[0]);
        dgamma[c] = E::from_f64(pair[1]);
    }
    let n = outer * channels * inner;
    dx[..n].par_chunks_mut(inner).enumerate().with_min_len((BN_GRAIN / inner).max(1)).for_each(
        |(k, out)| {
            let c = k % channels;
            let (mu, is) = (mean[c].as_f64(), invstd(c));
            let (sum_dy, sum_dy_xhat) = (sums[2 * c], sums[2 * c + 1]);
            let kk = gamma[c].as_f64() * is / m;
            let at = k * inner;
            for (i, d) in out.iter_mut().enumerate() {
                let xhat = (x[at + i].as_f64() - mu) * is;
                *d = E::from_f64(kk * (m * dy[at + i].as_f64() - sum_dy - xhat * sum_dy_xhat));
            }
        },
    );
}

// ---- layer normalisation per row ----------------------------------------------------------

/// Below this many values the rows run on one thread.
const PARALLEL_MIN: usize = 1 << 15;

fn rows_ok<E>(x: &[E], g: RowNorm) -> bool {
    g.cols > 0 && x.len() >= g.rows * g.cols
}

/// Mean and biased variance of one row (two passes in `f64`).
fn row_stats<E: Elem>(row: &[E]) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = row.iter().map(|v| v.as_f64()).sum::<f64>() / n;
    let var = row.iter().map(|v| (v.as_f64() - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// `y = (x − mean)·rstd·gamma + beta` per row, `rstd = 1/√(var + eps)`; writes the mean and
/// variance.
fn layer_norm_forward<E: CpuElem>(
    x: &[E],
    affine: Option<(&[E], &[E])>,
    y: &mut [E],
    stats: RowStatsMut<'_, CpuBuf<E>>,
    g: RowNorm,
) {
    if !rows_ok(x, g) || y.len() < x.len() || stats.mean.len() < g.rows {
        return;
    }
    let cols = g.cols;
    let one_row = |(xr, (yr, (m, r))): (&[E], (&mut [E], (&mut E, &mut E)))| {
        let (mean, var) = row_stats(xr);
        let rstd = 1.0 / (var + g.eps).sqrt();
        *m = E::from_f64(mean);
        *r = E::from_f64(var);
        for (c, (o, &v)) in yr.iter_mut().zip(xr).enumerate() {
            let xhat = (v.as_f64() - mean) * rstd;
            *o = match affine {
                Some((w, b)) => E::from_f64(xhat * w[c].as_f64() + b[c].as_f64()),
                None => E::from_f64(xhat),
            };
        }
    };
    let (x, y) = (&x[..g.rows * cols], &mut y[..g.rows * cols]);
    let (mean, var) = (&mut stats.mean[..g.rows], &mut stats.var[..g.rows]);
    if g.rows * cols >= PARALLEL_MIN {
        x.par_chunks(cols)
            .zip(y.par_chunks_mut(cols).zip(mean.par_iter_mut().zip(var.par_iter_mut())))
            .for_each(one_row);
    } else {
        x.chunks(cols)
            .zip(y.chunks_mut(cols).zip(mean.iter_mut().zip(var.iter_mut())))
            .for_each(one_row);
    }
}

/// `dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat))` with `dxhat = dy·gamma`; the
/// affine gradients summed over rows.
fn layer_norm_backward<E: CpuElem>(
    x: &[E],
    dy: &[E],
    stats: RowStats<'_, CpuBuf<E>>,
    gamma: Option<&[E]>,
    grads: LayerNormGrads<'_, CpuBuf<E>>,
    g: RowNorm,
) {
    let LayerNormGrads { dx, dgamma, dbeta } = grads;
    if !rows_ok(x, g) || dy.len() < x.len() || dx.len() < x.len() {
        return;
    }
    let (rows, cols) = (g.rows, g.cols);
    let n = cols as f64;
    let one_row = |r: usize, dxr: &mut [E]| {
        let (xr, gr) = (&x[r * cols..(r + 1) * cols], &dy[r * cols..(r + 1) * cols]);
        let (mean, rstd) = (stats.mean[r].as_f64(), 1.0 / (stats.var[r].as_f64() + g.eps).sqrt());
        let w = |c: usize| gamma.map_or(1.0, |w| w[c].as_f64());
        let (mut sum_d, mut sum_dx) = (0.0f64, 0.0f64);
        for c in 0..cols {
            let d = gr[c].as_f64() * w(c);
            sum_d += d;
            sum_dx += d * (xr[c].as_f64() - mean) * rstd;
        }
        let (mean_d, mean_dx) = (sum_d / n, sum_dx / n);
        for c in 0..cols {
            let xhat = (xr[c].as_f64() - mean) * rstd;
            let d = gr[c].as_f64() * w(c);
            dxr[c] = E::from_f64(rstd * (d - mean_d - xhat * mean_dx));
        }
    };
    let dx = &mut dx[..rows * cols];
    if rows * cols >= PARALLEL_MIN {
        dx.par_chunks_mut(cols).enumerate().for_each(|(r, d)| one_row(r, d));
    } else {
        dx.chunks_mut(cols).enumerate().for_each(|(r, d)| one_row(r, d));
    }
    // The affine gradients: columns summed over rows, in f64.
    if let (Some(dgamma), Some(dbeta)) = (dgamma, dbeta) {
        let (mut sg, mut sb) = (vec![0.0f64; cols], vec![0.0f64; cols]);
        for r in 0..rows {
            let (mean, rstd) =
                (stats.mean[r].as_f64(), 1.0 / (stats.var[r].as_f64() + g.eps).sqrt());
            for c in 0..cols {
                let (xv, d) = (x[r * cols + c].as_f64(), dy[r * cols + c].as_f64());
                sg[c] += d * (xv - mean) * rstd;
                sb[c] += d;
            }
        }
        for c in 0..cols.min(dgamma.len()).min(dbeta.len()) {
            dgamma[c] = E::from_f64(sg[c]);
            dbeta[c] = E::from_f64(sb[c]);
        }
    }
}
