//! Layer normalisation per row of a `rows × cols` buffer (PyTorch's `LayerNorm` over the
//! trailing features): statistics accumulated in `f64`, rows in parallel above 32k values.

use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::{LayerNormGrads, RowNorm, RowStats, RowStatsMut};

use crate::{CpuBuf, CpuElem};

/// Below this many values the rows run on one thread.
const PARALLEL_MIN: usize = 1 << 15;

fn sizes_ok<E>(x: &[E], g: RowNorm) -> bool {
    g.cols > 0 && x.len() >= g.rows * g.cols
}

/// Mean and `1/√(var + eps)` of one row (two passes in `f64`).
fn row_stats<E: Elem>(row: &[E], eps: f64) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = row.iter().map(|v| v.as_f64()).sum::<f64>() / n;
    let var = row.iter().map(|v| (v.as_f64() - mean).powi(2)).sum::<f64>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

/// `y = (x − mean)·rstd·gamma + beta` per row; writes the statistics.
pub(crate) fn forward<E: CpuElem>(
    x: &[E],
    affine: Option<(&[E], &[E])>,
    y: &mut [E],
    stats: RowStatsMut<'_, CpuBuf<E>>,
    g: RowNorm,
) {
    if !sizes_ok(x, g) || y.len() < x.len() || stats.mean.len() < g.rows {
        return;
    }
    let cols = g.cols;
    let one_row = |(xr, (yr, (m, r))): (&[E], (&mut [E], (&mut E, &mut E)))| {
        let (mean, rstd) = row_stats(xr, g.eps);
        *m = E::from_f64(mean);
        *r = E::from_f64(rstd);
        for (c, (o, &v)) in yr.iter_mut().zip(xr).enumerate() {
            let xhat = (v.as_f64() - mean) * rstd;
            *o = match affine {
                Some((w, b)) => E::from_f64(xhat * w[c].as_f64() + b[c].as_f64()),
                None => E::from_f64(xhat),
            };
        }
    };
    let (x, y) = (&x[..g.rows * cols], &mut y[..g.rows * cols]);
    let (mean, rstd) = (&mut stats.mean[..g.rows], &mut stats.rstd[..g.rows]);
    if g.rows * cols >= PARALLEL_MIN {
        x.par_chunks(cols)
            .zip(y.par_chunks_mut(cols).zip(mean.par_iter_mut().zip(rstd.par_iter_mut())))
            .for_each(one_row);
    } else {
        x.chunks(cols)
            .zip(y.chunks_mut(cols).zip(mean.iter_mut().zip(rstd.iter_mut())))
            .for_each(one_row);
    }
}

/// `dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat))` with `dxhat = dy·gamma`; the
/// affine gradients summed over rows.
pub(crate) fn backward<E: CpuElem>(
    x: &[E],
    dy: &[E],
    stats: RowStats<'_, CpuBuf<E>>,
    gamma: Option<&[E]>,
    grads: LayerNormGrads<'_, CpuBuf<E>>,
    g: RowNorm,
) {
    let LayerNormGrads { dx, dgamma, dbeta } = grads;
    if !sizes_ok(x, g) || dy.len() < x.len() || dx.len() < x.len() {
        return;
    }
    let (rows, cols) = (g.rows, g.cols);
    let n = cols as f64;
    let one_row = |r: usize, dxr: &mut [E]| {
        let (xr, gr) = (&x[r * cols..(r + 1) * cols], &dy[r * cols..(r + 1) * cols]);
        let (mean, rstd) = (stats.mean[r].as_f64(), stats.rstd[r].as_f64());
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
            let (mean, rstd) = (stats.mean[r].as_f64(), stats.rstd[r].as_f64());
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
