//! `impl Norm for CpuDevice`: batch normalisation (its kernels in `batch_norm.rs`) and layer
//! normalisation per row (statistics accumulated in `f64`, rows in parallel above 32k values).

use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::{
    BatchNormGeom, BatchNormGrads, Channels, LayerNormGrads, Moments, Norm, RowNorm, RowStats,
    RowStatsMut,
};

use crate::batch_norm::{batch_norm_apply, batch_norm_backward, channel_moments};
#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};
use crate::sums::sum8;
use crate::{CpuBuf, CpuDevice, CpuElem};

impl<E: CpuElem> Norm for CpuDevice<E> {
    unsafe fn channel_moments_unchecked(
        x: &CpuBuf<E>,
        mean: &mut CpuBuf<E>,
        var: &mut CpuBuf<E>,
        g: Channels,
    ) {
        channel_moments(x, mean, var, g);
    }
    unsafe fn batch_norm_apply_unchecked(
        x: &CpuBuf<E>,
        stats: Moments<'_, CpuBuf<E>>,
        gamma: &CpuBuf<E>,
        beta: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        g: BatchNormGeom,
    ) {
        batch_norm_apply(x, (stats.mean, stats.var), (gamma, beta), y, g, false);
    }
    unsafe fn batch_norm_relu_apply_unchecked(
        x: &CpuBuf<E>,
        stats: Moments<'_, CpuBuf<E>>,
        gamma: &CpuBuf<E>,
        beta: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        g: BatchNormGeom,
    ) {
        batch_norm_apply(x, (stats.mean, stats.var), (gamma, beta), y, g, true);
    }
    unsafe fn batch_norm_backward_unchecked(
        x: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        stats: Moments<'_, CpuBuf<E>>,
        gamma: &CpuBuf<E>,
        grads: BatchNormGrads<'_, CpuBuf<E>>,
        g: BatchNormGeom,
    ) {
        batch_norm_backward(x, dy, None, (stats.mean, stats.var), gamma, grads, g);
    }
    unsafe fn batch_norm_relu_backward_unchecked(
        x: &CpuBuf<E>,
        y: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        stats: Moments<'_, CpuBuf<E>>,
        gamma: &CpuBuf<E>,
        grads: BatchNormGrads<'_, CpuBuf<E>>,
        g: BatchNormGeom,
    ) {
        batch_norm_backward(x, dy, Some(y), (stats.mean, stats.var), gamma, grads, g);
    }
    unsafe fn layer_norm_unchecked(
        x: &CpuBuf<E>,
        affine: Option<(&CpuBuf<E>, &CpuBuf<E>)>,
        y: &mut CpuBuf<E>,
        stats: RowStatsMut<'_, CpuBuf<E>>,
        g: RowNorm,
    ) {
        layer_norm_forward(x, affine.map(|(w, b)| (&w[..], &b[..])), y, stats, g);
    }
    unsafe fn layer_norm_backward_unchecked(
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

// ---- layer normalisation per row ----------------------------------------------------------

/// Below this many values the rows run on one thread.
const PARALLEL_MIN: usize = 1 << 15;

fn rows_ok<E>(x: &[E], g: RowNorm) -> bool {
    g.cols > 0 && x.len() >= g.rows * g.cols
}

/// Mean and biased variance of one row (two passes in `f64`, eight partial sums each so the
/// loops vectorise).
#[inline(always)]
fn row_stats<E: Elem>(row: &[E]) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = sum8(row, |v| v) / n;
    let var = sum8(row, |v| (v - mean) * (v - mean)) / n;
    (mean, var)
}

/// Rows per task when the rows run in parallel.
const ROWS_PER_TASK: usize = 16;

/// Forward of whole rows: `(x, y, mean, var)` of `rows` rows of `cols`.
type ForwardRows<'a, E> = (&'a [E], &'a mut [E], &'a mut [E], &'a mut [E]);

/// `y = (x − mean)·rstd·gamma + beta` per row, `rstd = 1/√(var + eps)`; writes the mean and
/// variance.
fn layer_norm_forward<E: CpuElem>(
    x: &[E],
    affine: Option<(&[E], &[E])>,
    y: &mut [E],
    stats: RowStatsMut<'_, CpuBuf<E>>,
    g: RowNorm,
) {
    if !rows_ok(x, g) || y.len() < x.len() || stats.mean.len() < g.rows || stats.var.len() < g.rows
    {
        return;
    }
    let cols = g.cols;
    let (x, y) = (&x[..g.rows * cols], &mut y[..g.rows * cols]);
    let (mean, var) = (&mut stats.mean[..g.rows], &mut stats.var[..g.rows]);
    let task = |part: ForwardRows<'_, E>| forward_rows(part, affine, g);
    if g.rows * cols >= PARALLEL_MIN {
        let (rc, r) = (ROWS_PER_TASK * cols, ROWS_PER_TASK);
        x.par_chunks(rc)
            .zip(y.par_chunks_mut(rc))
            .zip(mean.par_chunks_mut(r).zip(var.par_chunks_mut(r)))
            .for_each(|((x, y), (m, v))| task((x, y, m, v)));
    } else {
        task((x, y, mean, var));
    }
}

/// [`forward_rows_in`], compiled for AVX2 in `f32` where the machine has it (the crate is built
/// for baseline x86-64, whose `f64` lanes are two wide).
fn forward_rows<E: CpuElem>(part: ForwardRows<'_, E>, affine: Option<(&[E], &[E])>, g: RowNorm) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma() {
        let (x, y, m, v) = part;
        let affine_f = affine.map(|(w, b)| (as_f32(w), as_f32(b)));
        match (as_f32(x), as_f32_mut(y), as_f32_mut(m), as_f32_mut(v), affine_f) {
            (Some(x), Some(y), Some(m), Some(v), None) => {
                // SAFETY: AVX2 and FMA are available (checked just above).
                unsafe { forward_rows_avx2((x, y, m, v), None, g) };
                return;
            }
            (Some(x), Some(y), Some(m), Some(v), Some((Some(w), Some(b)))) => {
                // SAFETY: as above.
                unsafe { forward_rows_avx2((x, y, m, v), Some((w, b)), g) };
                return;
            }
            _ => return forward_rows_in((x, y, m, v), affine, g),
        }
    }
    forward_rows_in(part, affine, g);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_rows_avx2(
    part: ForwardRows<'_, f32>,
    affine: Option<(&[f32], &[f32])>,
    g: RowNorm,
) {
    forward_rows_in(part, affine, g);
}

#[inline(always)]
fn forward_rows_in<E: CpuElem>(
    (x, y, mean, var): ForwardRows<'_, E>,
    affine: Option<(&[E], &[E])>,
    g: RowNorm,
) {
    let cols = g.cols;
    let rows = x.chunks_exact(cols).zip(y.chunks_exact_mut(cols));
    for ((xr, yr), (m, r)) in rows.zip(mean.iter_mut().zip(var.iter_mut())) {
        let (mu, var) = row_stats(xr);
        let rstd = 1.0 / (var + g.eps).sqrt();
        *m = E::from_f64(mu);
        *r = E::from_f64(var);
        match affine {
            Some((w, b)) => {
                for (((o, &v), &w), &b) in yr.iter_mut().zip(xr).zip(w).zip(b) {
                    *o = E::from_f64((v.as_f64() - mu) * rstd * w.as_f64() + b.as_f64());
                }
            }
            None => {
                for (o, &v) in yr.iter_mut().zip(xr) {
                    *o = E::from_f64((v.as_f64() - mu) * rstd);
                }
            }
        }
    }
}

/// `dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat))` with `dxhat = dy·gamma`; the
/// affine gradients summed over rows (in `f64`, each column's sum in row order; columns in
/// parallel).
fn layer_norm_backward<E: CpuElem>(
    x: &[E],
    dy: &[E],
    stats: RowStats<'_, CpuBuf<E>>,
    gamma: Option<&[E]>,
    grads: LayerNormGrads<'_, CpuBuf<E>>,
    g: RowNorm,
) {
    let LayerNormGrads { dx, dgamma, dbeta } = grads;
    let (rows, cols) = (g.rows, g.cols);
    if !rows_ok(x, g)
        || dy.len() < x.len()
        || dx.len() < x.len()
        || stats.mean.len() < rows
        || stats.var.len() < rows
        || gamma.is_some_and(|w| w.len() < cols)
    {
        return;
    }
    let (mean, var) = (&stats.mean[..rows], &stats.var[..rows]);
    let (x, dy, dx) = (&x[..rows * cols], &dy[..rows * cols], &mut dx[..rows * cols]);
    let task = |r0: usize, dx: &mut [E]| {
        let n = dx.len() / cols;
        let at = r0 * cols..(r0 + n) * cols;
        let part = (&x[at.clone()], &dy[at], dx, &mean[r0..r0 + n], &var[r0..r0 + n]);
        backward_rows(part, gamma, g);
    };
    if rows * cols >= PARALLEL_MIN {
        dx.par_chunks_mut(ROWS_PER_TASK * cols)
            .enumerate()
            .for_each(|(i, d)| task(i * ROWS_PER_TASK, d));
    } else {
        task(0, dx);
    }
    // The affine gradients: columns summed over rows, in f64, blocks of columns in parallel.
    if let (Some(dgamma), Some(dbeta)) = (dgamma, dbeta) {
        let cols_out = cols.min(dgamma.len()).min(dbeta.len());
        let block = |c0: usize, dg: &mut [E], db: &mut [E]| {
            let (sg, sb) = affine_sums((x, dy, mean, var), c0, dg.len(), g);
            for ((o, p), (s, t)) in dg.iter_mut().zip(db.iter_mut()).zip(sg.iter().zip(&sb)) {
                *o = E::from_f64(*s);
                *p = E::from_f64(*t);
            }
        };
        const COLUMNS: usize = 64;
        let (dg, db) = (&mut dgamma[..cols_out], &mut dbeta[..cols_out]);
        if rows * cols >= PARALLEL_MIN {
            dg.par_chunks_mut(COLUMNS)
                .zip(db.par_chunks_mut(COLUMNS))
                .enumerate()
                .for_each(|(i, (dg, db))| block(i * COLUMNS, dg, db));
        } else {
            block(0, dg, db);
        }
    }
}

/// Columns `c0..c0 + w` of `Σ_r dy·xhat` and `Σ_r dy` (row order, `f64`), from `(x, dy, mean,
/// var)`; compiled for AVX2 in `f32` where the machine has it.
fn affine_sums<E: CpuElem>(
    part: (&[E], &[E], &[E], &[E]),
    c0: usize,
    w: usize,
    g: RowNorm,
) -> (Vec<f64>, Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && let (Some(x), Some(dy), Some(m), Some(v)) =
            (as_f32(part.0), as_f32(part.1), as_f32(part.2), as_f32(part.3))
    {
        // SAFETY: AVX2 and FMA are available (checked just above).
        return unsafe { affine_sums_avx2((x, dy, m, v), c0, w, g) };
    }
    affine_sums_in(part, c0, w, g)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn affine_sums_avx2(
    part: (&[f32], &[f32], &[f32], &[f32]),
    c0: usize,
    w: usize,
    g: RowNorm,
) -> (Vec<f64>, Vec<f64>) {
    affine_sums_in(part, c0, w, g)
}

#[inline(always)]
fn affine_sums_in<E: CpuElem>(
    (x, dy, mean, var): (&[E], &[E], &[E], &[E]),
    c0: usize,
    w: usize,
    g: RowNorm,
) -> (Vec<f64>, Vec<f64>) {
    let cols = g.cols;
    let (mut sg, mut sb) = (vec![0.0f64; w], vec![0.0f64; w]);
    let rows = x.chunks_exact(cols).zip(dy.chunks_exact(cols)).zip(mean.iter().zip(var));
    for ((xr, gr), (&m, &v)) in rows {
        let (mu, rstd) = (m.as_f64(), 1.0 / (v.as_f64() + g.eps).sqrt());
        let (xr, gr) = (&xr[c0..c0 + w], &gr[c0..c0 + w]);
        for (((sg, sb), &xv), &d) in sg.iter_mut().zip(sb.iter_mut()).zip(xr).zip(gr) {
            *sg += d.as_f64() * (xv.as_f64() - mu) * rstd;
            *sb += d.as_f64();
        }
    }
    (sg, sb)
}

/// Backward of whole rows: `(x, dy, dx, mean, var)`.
type BackwardRows<'a, E> = (&'a [E], &'a [E], &'a mut [E], &'a [E], &'a [E]);

/// [`backward_rows_in`], compiled for AVX2 in `f32` where the machine has it.
fn backward_rows<E: CpuElem>(part: BackwardRows<'_, E>, gamma: Option<&[E]>, g: RowNorm) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma() {
        let (x, dy, dx, m, v) = part;
        match (as_f32(x), as_f32(dy), as_f32_mut(dx), as_f32(m), as_f32(v), gamma.map(as_f32)) {
            (Some(x), Some(dy), Some(dx), Some(m), Some(v), None) => {
                // SAFETY: AVX2 and FMA are available (checked just above).
                unsafe { backward_rows_avx2((x, dy, dx, m, v), None, g) };
                return;
            }
            (Some(x), Some(dy), Some(dx), Some(m), Some(v), Some(Some(w))) => {
                // SAFETY: as above.
                unsafe { backward_rows_avx2((x, dy, dx, m, v), Some(w), g) };
                return;
            }
            _ => return backward_rows_in((x, dy, dx, m, v), gamma, g),
        }
    }
    backward_rows_in(part, gamma, g);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn backward_rows_avx2(part: BackwardRows<'_, f32>, gamma: Option<&[f32]>, g: RowNorm) {
    backward_rows_in(part, gamma, g);
}

#[inline(always)]
fn backward_rows_in<E: CpuElem>(
    (x, dy, dx, mean, var): BackwardRows<'_, E>,
    gamma: Option<&[E]>,
    g: RowNorm,
) {
    let cols = g.cols;
    let n = cols as f64;
    let rows = x.chunks_exact(cols).zip(dy.chunks_exact(cols)).zip(dx.chunks_exact_mut(cols));
    for (((xr, gr), dxr), (&m, &v)) in rows.zip(mean.iter().zip(var)) {
        let (mu, rstd) = (m.as_f64(), 1.0 / (v.as_f64() + g.eps).sqrt());
        let (mut sd, mut sdx) = ([0.0f64; 8], [0.0f64; 8]);
        let (mut xs, mut gs) = (xr.chunks_exact(8), gr.chunks_exact(8));
        let mut ws = gamma.map(|w| w[..cols].chunks_exact(8));
        for (xc, gc) in (&mut xs).zip(&mut gs) {
            let wc = ws.as_mut().and_then(|w| w.next());
            for l in 0..8 {
                let d = gc[l].as_f64() * wc.map_or(1.0, |w| w[l].as_f64());
                sd[l] += d;
                sdx[l] += d * (xc[l].as_f64() - mu) * rstd;
            }
        }
        let (mut sum_d, mut sum_dx) = (sd.iter().sum::<f64>(), sdx.iter().sum::<f64>());
        let done = cols - xs.remainder().len();
        for c in done..cols {
            let d = gr[c].as_f64() * gamma.map_or(1.0, |w| w[c].as_f64());
            sum_d += d;
            sum_dx += d * (xr[c].as_f64() - mu) * rstd;
        }
        let (mean_d, mean_dx) = (sum_d / n, sum_dx / n);
        let out = |o: &mut E, x: E, d: f64| {
            let xhat = (x.as_f64() - mu) * rstd;
            *o = E::from_f64(rstd * (d - mean_d - xhat * mean_dx));
        };
        match gamma {
            Some(w) => dxr
                .iter_mut()
                .zip(xr)
                .zip(gr.iter().zip(w))
                .for_each(|((o, &x), (&d, &w))| out(o, x, d.as_f64() * w.as_f64())),
            None => dxr.iter_mut().zip(xr).zip(gr).for_each(|((o, &x), &d)| out(o, x, d.as_f64())),
        }
    }
}
