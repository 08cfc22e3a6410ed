//! Convolution one sample at a time: each sample's input is unfolded into a `[c·kh·kw, oh·ow]`
//! block small enough to stay in cache and multiplied straight into that sample's output, so
//! neither the batch-wide unfolded input (`k²` times the input) nor a transpose of the output
//! ever goes through memory. Samples are split over the workers in fixed contiguous shares, and
//! the shares' weight-gradient sums are added in order: the result does not depend on
//! scheduling.

use gemm::Parallelism;
use rayon::prelude::*;
use shapeflow_core::backend::{ConvGeom, ConvGrads, Gemm, Window2d};

use crate::conv::{col2im_seq_scratch, im2col_seq};
use crate::elementwise::transpose_2d;
use crate::matmul::matmul_with;
use crate::{CpuBuf, CpuElem};

/// Whether the batch is large enough to give every worker a share of samples (else the
/// batch-wide products, parallel inside, are faster).
pub(crate) fn suits(geom: ConvGeom) -> bool {
    let n = geom.window.n;
    n >= 2 && n >= rayon::current_num_threads() && geom.window.col_cols() > 0
}

/// Samples per share: one share per worker.
fn share(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// Whether `unfold(x[s])` is `x[s]` itself (`[c, h·w]`): a 1×1 kernel, stride 1, no padding.
/// Such a convolution reads the input in place, and its input gradient is written in place,
/// without the copies `im2col`/`col2im` would make.
fn pointwise(g: &Window2d) -> bool {
    g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
}

/// `y[s] = W · unfold(x[s])` for every sample `s`.
pub(crate) fn forward<E: CpuElem>(x: &[E], weight: &[E], y: &mut [E], geom: ConvGeom) {
    let (g, o) = (geom.window, geom.out_channels);
    let (rows, per) = (g.col_rows(), g.col_cols());
    let (sample_in, sample_out) = (g.c * g.h * g.w, o * per);
    if x.len() < g.n * sample_in || y.len() < g.n * sample_out || weight.len() < o * rows {
        return;
    }
    let one = Window2d { n: 1, ..g };
    let chunk = share(g.n);
    y[..g.n * sample_out]
        .par_chunks_mut(chunk * sample_out)
        .zip(x[..g.n * sample_in].par_chunks(chunk * sample_in))
        .for_each(|(ys, xs)| {
            let in_place = pointwise(&g);
            let mut cols = CpuBuf::<E>::scratch(if in_place { 0 } else { rows * per });
            for (y_s, x_s) in ys.chunks_mut(sample_out).zip(xs.chunks(sample_in)) {
                let unfolded: &[E] = if in_place {
                    x_s
                } else {
                    im2col_seq(x_s, &mut cols, one);
                    &cols
                };
                matmul_with(weight, unfolded, y_s, Gemm::new(o, rows, per), Parallelism::None);
            }
        });
}

/// `dW = Σₛ dy[s] · unfold(x[s])ᵀ` and, when asked, `dx[s] = fold(Wᵀ · dy[s])`.
pub(crate) fn backward<E: CpuElem>(
    x: &[E],
    weight: &[E],
    dy: &[E],
    grads: ConvGrads<'_, CpuBuf<E>>,
    geom: ConvGeom,
) {
    let (g, o) = (geom.window, geom.out_channels);
    let (rows, per) = (g.col_rows(), g.col_cols());
    let (sample_in, sample_out) = (g.c * g.h * g.w, o * per);
    let ConvGrads { dweight, dx } = grads;
    if x.len() < g.n * sample_in
        || dy.len() < g.n * sample_out
        || weight.len() < o * rows
        || dweight.len() < o * rows
        || dx.as_ref().is_some_and(|d| d.len() < g.n * sample_in)
    {
        return;
    }
    let one = Window2d { n: 1, ..g };
    let chunk = share(g.n);
    let shares = g.n.div_ceil(chunk);
    let with_input = dx.is_some();
    // Wᵀ once, so each sample's input gradient is a plain product.
    let mut w_t = CpuBuf::<E>::scratch(if with_input { rows * o } else { 0 });
    if with_input {
        transpose_2d(&weight[..o * rows], &mut w_t, o, rows);
    }
    let parts: Vec<Option<&mut [E]>> = match dx {
        Some(d) => d[..g.n * sample_in].chunks_mut(chunk * sample_in).map(Some).collect(),
        None => (0..shares).map(|_| None).collect(),
    };
    let partials: Vec<CpuBuf<E>> = parts
        .into_par_iter()
        .enumerate()
        .map(|(k, mut dx_part)| {
            let in_place = pointwise(&g);
            let mut dw = CpuBuf::<E>::zeros(o * rows);
            let scratch = if in_place { 0 } else { rows * per };
            let mut cols = CpuBuf::<E>::scratch(scratch);
            let mut dcols = CpuBuf::<E>::scratch(if with_input { scratch } else { 0 });
            for (t, s) in (k * chunk..((k + 1) * chunk).min(g.n)).enumerate() {
                let x_s = &x[s * sample_in..(s + 1) * sample_in];
                let unfolded: &[E] = if in_place {
                    x_s
                } else {
                    im2col_seq(x_s, &mut cols, one);
                    &cols
                };
                let dy_s = &dy[s * sample_out..(s + 1) * sample_out];
                let gw = Gemm::new(o, per, rows).transpose_b().accumulate();
                matmul_with(dy_s, unfolded, &mut dw, gw, Parallelism::None);
                if let Some(dx_part) = dx_part.as_deref_mut() {
                    let dx_s = &mut dx_part[t * sample_in..(t + 1) * sample_in];
                    let shape = Gemm::new(rows, o, per);
                    if in_place {
                        // The unfolded gradient is the input gradient.
                        matmul_with(&w_t, dy_s, dx_s, shape, Parallelism::None);
                    } else {
                        matmul_with(&w_t, dy_s, &mut dcols, shape, Parallelism::None);
                        col2im_seq_scratch(&mut dcols, dx_s, one);
                    }
                }
            }
            dw
        })
        .collect();
    let out = &mut dweight[..o * rows];
    out.fill(E::zero());
    for part in &partials {
        out.iter_mut().zip(part.iter()).for_each(|(d, &v)| *d = *d + v);
    }
}
