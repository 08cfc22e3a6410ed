//! Batch normalisation over `[outer, channels, inner]` buffers: the per-channel moments, the
//! normalisation and the training-mode backward pass (sums in `f64`).

use std::ops::Range;

use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::{BatchNormGeom, BatchNormGrads, Channels};

use crate::activation::{relu, relu_backward};
use crate::sums::{sum8_grads, sum8_moments};
use crate::{CpuBuf, CpuElem};

wide! {
    /// Adds, for each channel `c`, `(Σd, Σd²)` of `d = x − shift(c)` over `samples` to
    /// `out[2c]` and `out[2c + 1]`: the samples' channels in memory order, each slice in the
    /// eight partial sums of [`sum8_moments`].
    fn block_moments(x: &[E], samples: Range<usize>, g: Channels, out: &mut [f64]) {
        let Channels { channels, inner, .. } = g;
        for o in samples {
            for (c, pair) in out.chunks_exact_mut(2).enumerate() {
                let slice = &x[(o * channels + c) * inner..][..inner];
                let (s, q) = sum8_moments(slice, shift(x, c, inner));
                pair[0] += s;
                pair[1] += q;
            }
        }
    }
}

wide! {
    /// Adds, for each channel `c`, `(Σg, Σg·(x − means[c]))` over `samples` to `out[2c]` and
    /// `out[2c + 1]`, in one loop per slice ([`sum8_grads`]; `g` is `dy`, gated by a ReLU's
    /// output `gate`).
    fn block_grad_sums(x: &[E], dy: &[E], gate: Option<&[E]>, means: &[E], samples: Range<usize>, g: Channels, out: &mut [f64]) {
        let Channels { channels, inner, .. } = g;
        for o in samples {
            for ((c, pair), &mean) in out.chunks_exact_mut(2).enumerate().zip(means) {
                let at = (o * channels + c) * inner;
                let gate = gate.map(|y| &y[at..at + inner]);
                let (x, dy) = (&x[at..at + inner], &dy[at..at + inner]);
                let (d, dd) = sum8_grads(x, dy, gate, mean.as_f64());
                pair[0] += d;
                pair[1] += dd;
            }
        }
    }
}

/// The value channel `c`'s sums are taken about: its first (so a constant channel gives
/// exactly zero and a large mean cancels nothing).
#[inline(always)]
fn shift<E: Elem>(x: &[E], c: usize, inner: usize) -> f64 {
    x[c * inner].as_f64()
}

fn sizes_ok<E>(x: &[E], outer: usize, channels: usize, inner: usize) -> bool {
    x.len() >= outer * channels * inner && outer * inner > 0
}

/// Below this many values per task, batch-norm work is not split further.
const BN_GRAIN: usize = 1 << 13;

/// Values per block of the per-channel sums (in whole samples).
const BN_BLOCK: usize = 1 << 15;

/// Per-channel pairs of sums over the batch, `2·channels` values: the samples in fixed blocks
/// of about [`BN_BLOCK`] values, blocks in parallel (each reading its samples' memory in
/// order, where a channel-at-a-time pass jumps from sample to sample), their partial sums
/// added in block order, so the result depends on neither scheduling nor the number of
/// workers.
fn channel_sums(g: Channels, block: impl Fn(Range<usize>, &mut [f64]) + Sync) -> CpuBuf<f64> {
    let Channels { outer, channels, inner } = g;
    let per_block = (BN_BLOCK / (channels * inner).max(1)).clamp(1, outer.max(1));
    let mut partial = CpuBuf::<f64>::zeros(outer.div_ceil(per_block) * 2 * channels);
    partial.par_chunks_mut(2 * channels).enumerate().for_each(|(b, out)| {
        block(b * per_block..((b + 1) * per_block).min(outer), out);
    });
    let mut sums = CpuBuf::<f64>::zeros(2 * channels);
    for part in partial.chunks_exact(2 * channels) {
        sums.iter_mut().zip(part).for_each(|(s, &p)| *s += p);
    }
    sums
}

/// Mean and biased variance per channel in one pass in `f64`: the sums of `d = x − s` and
/// `d²` about the channel's [`shift`] `s`, over [`channel_sums`]' fixed blocks of samples.
pub(crate) fn channel_moments<E: CpuElem>(x: &[E], mean: &mut [E], var: &mut [E], g: Channels) {
    let Channels { outer, channels, inner } = g;
    if !sizes_ok(x, outer, channels, inner) || mean.len() < channels || var.len() < channels {
        mean.iter_mut().chain(var.iter_mut()).for_each(|v| *v = E::zero());
        return;
    }
    let sums = channel_sums(g, |samples, out| block_moments(x, samples, g, out));
    let m = (outer * inner) as f64;
    for (c, pair) in sums.chunks_exact(2).enumerate() {
        let mean_dev = pair[0] / m;
        mean[c] = E::from_f64(shift(x, c, inner) + mean_dev);
        var[c] = E::from_f64((pair[1] / m - mean_dev * mean_dev).max(0.0));
    }
}

/// `y = (x − mean)·invstd·gamma + beta` per channel, `inner`-long slices in parallel; with
/// `with_relu`, `Relu`'s forward of that in the same pass (NaN passes through).
pub(crate) fn batch_norm_apply<E: Elem>(
    x: &[E],
    (mean, var): (&[E], &[E]),
    (gamma, beta): (&[E], &[E]),
    y: &mut [E],
    g: BatchNormGeom,
    with_relu: bool,
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
            let pairs = ys.iter_mut().zip(xs);
            if with_relu {
                pairs.for_each(|(yv, &xv)| *yv = relu(xv * scale + shift));
            } else {
                pairs.for_each(|(yv, &xv)| *yv = xv * scale + shift);
            }
        });
}

/// Training-mode backward: `dx = γ·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))`. The per-channel sums
/// run over [`channel_sums`]' blocks of samples, then `dx` in parallel over `inner`-long
/// slices. With `gate` (the output of a ReLU that read this batch norm's output), `dy` is the
/// ReLU's output gradient and `dy ⊙ [gate > 0]` stands for `dy` throughout.
pub(crate) fn batch_norm_backward<E: CpuElem>(
    x: &[E],
    dy: &[E],
    gate: Option<&[E]>,
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
        || gate.is_some_and(|y| y.len() < x.len())
        || dgamma.len() < channels
        || dbeta.len() < channels
    {
        return;
    }
    let m = (outer * inner) as f64;
    let invstd = |c: usize| 1.0 / (var[c].as_f64() + eps).sqrt();
    // (Σdy, Σdy·x̂) per channel (Σdy·x̂ = invstd·Σdy·(x − mean)), in a pooled buffer (a
    // steady-state step allocates nothing).
    let mut sums = channel_sums(g.shape, |samples, out| {
        block_grad_sums(x, dy, gate, &mean[..channels], samples, g.shape, out);
    });
    for (c, pair) in sums.chunks_exact_mut(2).enumerate() {
        pair[1] *= invstd(c);
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
            // kk·(m·dy − Σdy − x̂·Σdy·x̂), x̂ = (x − mean)·invstd, as a·dy + b·x + c.
            let coef = (kk * m, -kk * is * sum_dy_xhat, kk * (mu * is * sum_dy_xhat - sum_dy));
            let gate = gate.map(|y| &y[at..at + inner]);
            bn_dx_slice(&x[at..at + inner], &dy[at..at + inner], gate, out, coef);
        },
    );
}

wide! {
    /// `dx = a·g + b·x + c` over one slice of a channel, `g` being `dy` or, with `gate`,
    /// `dy ⊙ [gate > 0]`; in `f64` (four lanes on AVX2).
    fn bn_dx_slice(x: &[E], dy: &[E], gate: Option<&[E]>, out: &mut [E], coef: (f64, f64, f64)) {
        let (a, b, c) = coef;
        let value = |g: E, xv: E| E::from_f64(a * g.as_f64() + b * xv.as_f64() + c);
        match gate {
            Some(y) => {
                for (((o, &xv), &g), &y) in out.iter_mut().zip(x).zip(dy).zip(y) {
                    *o = value(relu_backward(g, y), xv);
                }
            }
            None => out.iter_mut().zip(x).zip(dy).for_each(|((o, &xv), &g)| *o = value(g, xv)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values about `offset`, varied by a fixed recurrence.
    fn values(len: usize, offset: f64) -> Vec<f64> {
        (0..len).map(|i| offset + ((i * 7919 % 1013) as f64) / 101.0 - 5.0).collect()
    }

    /// `(mean, var)` per channel by the textbook two passes.
    fn two_pass(x: &[f64], g: Channels) -> Vec<(f64, f64)> {
        let Channels { outer, channels, inner } = g;
        let slice = |o: usize, c: usize| &x[(o * channels + c) * inner..][..inner];
        (0..channels)
            .map(|c| {
                let m = (outer * inner) as f64;
                let mean = (0..outer).flat_map(|o| slice(o, c)).sum::<f64>() / m;
                let var = (0..outer).flat_map(|o| slice(o, c)).map(|v| (v - mean).powi(2));
                (mean, var.sum::<f64>() / m)
            })
            .collect()
    }

    /// Shapes of one and of several blocks (a block's last samples short), one value per
    /// slice, a large mean, and a constant channel (variance exactly zero).
    #[test]
    fn one_pass_moments_match_two_passes() {
        for (outer, channels, inner, offset) in
            [(1, 1, 1, 0.0), (3, 2, 1, 1e4), (5, 3, 7, -2.0), (64, 4, 196, 1e3), (13, 32, 49, 0.5)]
        {
            let g = Channels { outer, channels, inner };
            let mut x = values(outer * channels * inner, offset);
            for o in 0..outer {
                x[o * channels * inner..][..inner].iter_mut().for_each(|v| *v = 3.25);
            }
            let (mut mean, mut var) = (vec![0.0; channels], vec![0.0; channels]);
            channel_moments(&x, &mut mean, &mut var, g);
            for (c, (m, v)) in two_pass(&x, g).into_iter().enumerate() {
                let what = format!("{outer}×{channels}×{inner}, channel {c}");
                assert!((mean[c] - m).abs() <= 1e-12 * m.abs().max(1.0), "{what}: mean");
                assert!((var[c] - v).abs() <= 1e-10 * v.max(1e-300), "{what}: var");
            }
            assert_eq!((mean[0], var[0]), (3.25, 0.0), "constant channel");
        }
    }

    /// `dgamma`, `dbeta` and `dx` against the formula written out per value.
    #[test]
    fn backward_sums_match_the_formula() {
        let (outer, channels, inner) = (9, 3, 50);
        let g = Channels { outer, channels, inner };
        let (x, dy) =
            (values(outer * channels * inner, 1.0), values(outer * channels * inner, -0.3));
        let gamma = [0.5, -1.5, 2.0];
        let stats = two_pass(&x, g);
        let (mean, var): (Vec<f64>, Vec<f64>) = stats.iter().copied().unzip();
        let mut dx = CpuBuf::<f64>::zeros(x.len());
        let (mut dgamma, mut dbeta) = (CpuBuf::<f64>::zeros(channels), CpuBuf::zeros(channels));
        let grads = BatchNormGrads { dx: &mut dx, dgamma: &mut dgamma, dbeta: &mut dbeta };
        let geom = BatchNormGeom { shape: g, eps: 1e-5 };
        batch_norm_backward(&x, &dy, None, (&mean, &var), &gamma, grads, geom);
        let m = (outer * inner) as f64;
        for c in 0..channels {
            let invstd = 1.0 / (var[c] + 1e-5).sqrt();
            let at = |o: usize| (o * channels + c) * inner..(o * channels + c + 1) * inner;
            let idx: Vec<usize> = (0..outer).flat_map(at).collect();
            let xhat = |i: usize| (x[i] - mean[c]) * invstd;
            let sum_dy: f64 = idx.iter().map(|&i| dy[i]).sum();
            let sum_dy_xhat: f64 = idx.iter().map(|&i| dy[i] * xhat(i)).sum();
            assert!((dbeta[c] - sum_dy).abs() < 1e-10, "dbeta {c}");
            assert!((dgamma[c] - sum_dy_xhat).abs() < 1e-10, "dgamma {c}");
            for &i in &idx {
                let want = gamma[c] * invstd / m * (m * dy[i] - sum_dy - xhat(i) * sum_dy_xhat);
                assert!((dx[i] - want).abs() < 1e-10, "dx[{i}]");
            }
        }
    }
}
