//! max_pool2d / avg_pool2d and their backward passes, one channel plane per task.

use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::Window2d;

#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};

use shapeflow_core::backend::Pool;

use crate::{CpuBuf, CpuDevice, CpuElem};

impl<E: CpuElem> Pool for CpuDevice<E> {
    unsafe fn max_pool2d_unchecked(
        x: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        argmax: &mut CpuBuf<E>,
        g: Window2d,
    ) {
        max_pool2d(x, y, argmax, g);
    }
    unsafe fn max_pool2d_backward_unchecked(
        dy: &CpuBuf<E>,
        argmax: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
        g: Window2d,
    ) {
        max_pool2d_backward(dy, argmax, dx, g);
    }
    unsafe fn avg_pool2d_unchecked(x: &CpuBuf<E>, y: &mut CpuBuf<E>, g: Window2d) {
        avg_pool2d(x, y, g);
    }
    unsafe fn avg_pool2d_backward_unchecked(dy: &CpuBuf<E>, dx: &mut CpuBuf<E>, g: Window2d) {
        avg_pool2d_backward(dy, dx, g);
    }
}

/// The input rows and columns under the window at output `(oy, ox)`, padding excluded (pools
/// have no dilation).
#[inline]
fn window(g: &Window2d, oy: usize, ox: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let span = |o: usize, s: usize, p: usize, k: usize, size: usize| {
        let start = o * s;
        (start.saturating_sub(p))..(start + k).saturating_sub(p).min(size)
    };
    (span(oy, g.sh, g.ph, g.kh, g.h), span(ox, g.sw, g.pw, g.kw, g.w))
}

fn sizes_ok<E>(x: &[E], y: &[E], g: &Window2d) -> bool {
    x.len() >= g.n * g.c * g.h * g.w && y.len() >= g.n * g.c * g.oh * g.ow && g.oh * g.ow > 0
}

/// Max over each window; `argmax` holds the winning tap of the window, `i·kw + j` (exact in any
/// float for any window, whatever the plane's size).
fn max_pool2d<E: Elem>(x: &[E], y: &mut [E], argmax: &mut [E], g: Window2d) {
    if !sizes_ok(x, y, &g) || argmax.len() < y.len() {
        return;
    }
    let (pin, pout) = (g.h * g.w, g.oh * g.ow);
    y.par_chunks_mut(pout).zip(argmax.par_chunks_mut(pout)).enumerate().for_each(
        |(p, (ys, am))| {
            let xs = &x[p * pin..(p + 1) * pin];
            if g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 {
                max_pool_2x2(xs, ys, am, &g);
                return;
            }
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut best = E::neg_infinity();
                    let mut at = 0usize;
                    let (rows, cols) = window(&g, oy, ox);
                    // The window's first row and column (padding included).
                    let (top, left) = (oy * g.sh, ox * g.sw);
                    'window: for iy in rows {
                        for ix in cols.clone() {
                            let v = xs[iy * g.w + ix];
                            // NaN propagates, as in PyTorch.
                            if v > best || v.is_nan() {
                                best = v;
                                at = (iy + g.ph - top) * g.kw + (ix + g.pw - left);
                                if v.is_nan() {
                                    break 'window;
                                }
                            }
                        }
                    }
                    ys[oy * g.ow + ox] = best;
                    am[oy * g.ow + ox] = E::from_f64(at as f64);
                }
            }
        },
    );
}

/// The common 2×2, stride-2 window over one plane: two input rows at a time, four fixed
/// candidates per output, chosen with selects rather than branches (the same winner as the
/// general loop: the first maximum in scan order, or the first NaN).
fn max_pool_2x2<E: Elem>(xs: &[E], ys: &mut [E], am: &mut [E], g: &Window2d) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(x), Some(y), Some(a)) = (as_f32(xs), as_f32_mut(ys), as_f32_mut(am))
        && std::arch::is_x86_feature_detected!("avx512f")
    {
        // SAFETY: AVX-512F is present (checked).
        unsafe { max_pool_2x2_avx512(x, y, a, g) };
        return;
    }
    for oy in 0..g.oh {
        let (top, bottom) = (2 * oy * g.w, (2 * oy + 1) * g.w);
        let r0 = &xs[top..top + 2 * g.ow];
        let r1 = &xs[bottom..bottom + 2 * g.ow];
        let out = oy * g.ow..(oy + 1) * g.ow;
        let pairs = r0.chunks_exact(2).zip(r1.chunks_exact(2));
        for ((p0, p1), (y, a)) in pairs.zip(ys[out.clone()].iter_mut().zip(&mut am[out])) {
            // Taps 0, 1 (top row), 2, 3 (bottom row).
            let (mut best, mut at) = (p0[0], 0);
            for (v, i) in [(p0[1], 1), (p1[0], 2), (p1[1], 3)] {
                let take = (v > best) | (v.is_nan() & !best.is_nan());
                best = if take { v } else { best };
                at = if take { i } else { at };
            }
            *y = best;
            *a = E::from_f64(at as f64);
        }
    }
}

/// [`max_pool_2x2`] for `f32` on AVX-512: 16 outputs per step (two input rows deinterleaved
/// into the four window positions), the same winners as the scalar loop, which finishes each
/// row's last outputs.
///
/// # Safety
/// AVX-512F must be present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn max_pool_2x2_avx512(xs: &[f32], ys: &mut [f32], am: &mut [f32], g: &Window2d) {
    use std::arch::x86_64::*;
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for oy in 0..g.oh {
        let (top, bottom) = (2 * oy * g.w, (2 * oy + 1) * g.w);
        let r0 = &xs[top..top + 2 * g.ow];
        let r1 = &xs[bottom..bottom + 2 * g.ow];
        let y = &mut ys[oy * g.ow..(oy + 1) * g.ow];
        let a = &mut am[oy * g.ow..(oy + 1) * g.ow];
        for ox in (0..g.ow).step_by(16) {
            // The last step of a row may be partial: masks keep loads and stores inside it.
            let t = (g.ow - ox).min(16);
            let (lo, hi) = ((2 * t).min(16), (2 * t).saturating_sub(16));
            let (lo, hi, out) = (low_bits(lo), low_bits(hi), low_bits(t));
            // SAFETY: masked-off lanes are neither read nor written; the lanes kept read
            // `r0[2·ox..2·ox + 2t]` and `r1[..]` and write `y[ox..ox + t]`, `a[ox..ox + t]`,
            // all inside the slices above.
            unsafe {
                let (p0, p1) = (r0.as_ptr().add(2 * ox), r1.as_ptr().add(2 * ox));
                let (a0, b0) =
                    (_mm512_maskz_loadu_ps(lo, p0), _mm512_maskz_loadu_ps(hi, p0.add(16)));
                let (a1, b1) =
                    (_mm512_maskz_loadu_ps(lo, p1), _mm512_maskz_loadu_ps(hi, p1.add(16)));
                let mut best = _mm512_permutex2var_ps(a0, even, b0);
                let mut at = _mm512_setzero_ps();
                // Taps 1 (top right), 2 (bottom left), 3 (bottom right).
                let candidates = [
                    (_mm512_permutex2var_ps(a0, odd, b0), 1.0),
                    (_mm512_permutex2var_ps(a1, even, b1), 2.0),
                    (_mm512_permutex2var_ps(a1, odd, b1), 3.0),
                ];
                for (v, tap) in candidates {
                    let greater = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best);
                    let v_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                    let best_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(best, best);
                    let take = greater | (v_nan & !best_nan);
                    best = _mm512_mask_blend_ps(take, best, v);
                    at = _mm512_mask_blend_ps(take, at, _mm512_set1_ps(tap));
                }
                _mm512_mask_storeu_ps(y.as_mut_ptr().add(ox), out, best);
                _mm512_mask_storeu_ps(a.as_mut_ptr().add(ox), out, at);
            }
        }
    }
}

/// A mask of the lowest `n` (≤ 16) lanes.
#[cfg(target_arch = "x86_64")]
fn low_bits(n: usize) -> u16 {
    ((1u32 << n) - 1) as u16
}

/// Routes each output gradient to its window's maximum (the tap `argmax` recorded).
fn max_pool2d_backward<E: Elem>(dy: &[E], argmax: &[E], dx: &mut [E], g: Window2d) {
    if !sizes_ok(dx, dy, &g) || argmax.len() < dy.len() || g.kw == 0 {
        return;
    }
    let (pin, pout) = (g.h * g.w, g.oh * g.ow);
    let two_by_two = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0;
    dx[..g.n * g.c * pin].par_chunks_mut(pin).enumerate().for_each(|(p, d)| {
        let (dy, argmax) = (&dy[p * pout..(p + 1) * pout], &argmax[p * pout..(p + 1) * pout]);
        if two_by_two {
            max_pool_2x2_backward(dy, argmax, d, &g);
            return;
        }
        d.iter_mut().for_each(|v| *v = E::zero());
        let taps = argmax.iter();
        for (o, (&gy, &a)) in dy.iter().zip(taps).enumerate() {
            let tap = a.as_f64() as usize;
            let (oy, ox) = (o / g.ow, o % g.ow);
            // The tap's input position; padding never wins, so it is inside the plane.
            let iy = (oy * g.sh + tap / g.kw).checked_sub(g.ph);
            let ix = (ox * g.sw + tap % g.kw).checked_sub(g.pw);
            if let (Some(iy), Some(ix)) = (iy, ix)
                && iy < g.h
                && ix < g.w
            {
                d[iy * g.w + ix] = d[iy * g.w + ix] + gy;
            }
        }
    });
}

/// [`max_pool2d_backward`] of the common 2×2, stride-2 window over one plane: each output's
/// gradient written to its winning tap and zeros to the other three, two input rows at a time
/// (no division per output, no separate zeroing pass); an odd last row or column, which no
/// window covers, is zeroed.
fn max_pool_2x2_backward<E: Elem>(dy: &[E], argmax: &[E], d: &mut [E], g: &Window2d) {
    let (w, ow) = (g.w, g.ow);
    for (oy, rows) in d.chunks_mut(2 * w).enumerate() {
        if oy >= g.oh || rows.len() < 2 * w {
            rows.iter_mut().for_each(|v| *v = E::zero());
            continue;
        }
        let (r0, r1) = rows.split_at_mut(w);
        let (gys, taps) = (&dy[oy * ow..(oy + 1) * ow], &argmax[oy * ow..(oy + 1) * ow]);
        let (top, bottom) = (r0[..2 * ow].chunks_exact_mut(2), r1[..2 * ow].chunks_exact_mut(2));
        for ((t, b), (&gy, &a)) in top.zip(bottom).zip(gys.iter().zip(taps)) {
            let tap = a.as_f64();
            let pick = |k: f64| if tap == k { gy } else { E::zero() };
            (t[0], t[1], b[0], b[1]) = (pick(0.0), pick(1.0), pick(2.0), pick(3.0));
        }
        r0[2 * ow..].iter_mut().chain(&mut r1[2 * ow..]).for_each(|v| *v = E::zero());
    }
}

/// Mean over each window, dividing by the full kernel area (padding counts as zeros).
fn avg_pool2d<E: Elem>(x: &[E], y: &mut [E], g: Window2d) {
    if !sizes_ok(x, y, &g) {
        return;
    }
    let (pin, pout) = (g.h * g.w, g.oh * g.ow);
    let inv = E::from_f64(1.0 / (g.kh * g.kw) as f64);
    y.par_chunks_mut(pout).enumerate().for_each(|(p, ys)| {
        let xs = &x[p * pin..(p + 1) * pin];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let (rows, cols) = window(&g, oy, ox);
                let mut s = E::zero();
                for iy in rows {
                    s = s + xs[iy * g.w + cols.start..iy * g.w + cols.end]
                        .iter()
                        .copied()
                        .sum::<E>();
                }
                ys[oy * g.ow + ox] = s * inv;
            }
        }
    });
}

/// Spreads each output gradient evenly over its window.
fn avg_pool2d_backward<E: Elem>(dy: &[E], dx: &mut [E], g: Window2d) {
    if !sizes_ok(dx, dy, &g) {
        return;
    }
    let (pin, pout) = (g.h * g.w, g.oh * g.ow);
    let inv = E::from_f64(1.0 / (g.kh * g.kw) as f64);
    dx[..g.n * g.c * pin].par_chunks_mut(pin).enumerate().for_each(|(p, d)| {
        d.iter_mut().for_each(|v| *v = E::zero());
        let gs = &dy[p * pout..(p + 1) * pout];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let share = gs[oy * g.ow + ox] * inv;
                let (rows, cols) = window(&g, oy, ox);
                for iy in rows {
                    for v in &mut d[iy * g.w + cols.start..iy * g.w + cols.end] {
                        *v = *v + share;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plane of more than 2^24 values: a plane index stored in an `f32` would round, so the
    /// gradient of the bottom-right window would land beside its maximum (or nowhere).
    #[test]
    fn max_pool_routes_gradients_exactly_in_planes_past_two_to_the_24() {
        let side = 4098; // 4098² = 16_793_604 > 2^24
        let g = Window2d::new([1, 1, side, side], [2, 2], [2, 2], [0, 0], [1, 1]).unwrap();
        let mut x = vec![0.0f32; side * side];
        let last = side * side - 1;
        x[last] = 1.0;
        let out = g.oh * g.ow;
        let (mut y, mut am) = (vec![0.0f32; out], vec![0.0f32; out]);
        max_pool2d(&x, &mut y, &mut am, g);
        assert_eq!((y[out - 1], am[out - 1]), (1.0, 3.0), "bottom-right tap of the last window");
        let mut dx = vec![0.0f32; side * side];
        max_pool2d_backward(&vec![1.0f32; out], &am, &mut dx, g);
        assert_eq!(dx[last], 1.0);
        assert_eq!(dx.iter().sum::<f32>(), out as f32, "every output's gradient lands once");
    }

    /// The 2×2 fast paths (AVX-512 for f32, selects for f64) against a plain scan of each window
    /// (first maximum in scan order; the first NaN wins), on planes with ties, NaNs and widths
    /// around the 16-output vector steps (odd sizes drop the last row or column, as PyTorch).
    #[test]
    fn two_by_two_max_pool_matches_a_plain_scan() {
        for (h, w) in [(2, 2), (3, 5), (26, 26), (11, 11), (4, 32), (6, 33), (2, 64), (5, 70)] {
            let g = Window2d::new([2, 3, h, w], [2, 2], [2, 2], [0, 0], [1, 1]).unwrap();
            let x: Vec<f32> = (0..2 * 3 * h * w)
                .map(|i| match i % 23 {
                    7 => f32::NAN,
                    3 | 4 => 1.0, // ties
                    _ => ((i * 37 % 101) as f32) / 10.0 - 5.0,
                })
                .collect();
            let len = g.n * g.c * g.oh * g.ow;
            let (mut y, mut am) = (vec![0.0f32; len], vec![0.0f32; len]);
            max_pool2d(&x, &mut y, &mut am, g);
            let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let (mut y64, mut am64) = (vec![0.0f64; len], vec![0.0f64; len]);
            max_pool2d(&x64, &mut y64, &mut am64, g);
            for p in 0..g.n * g.c {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let plane = &x[p * h * w..(p + 1) * h * w];
                        let (mut best, mut at) = (f32::NEG_INFINITY, 0);
                        'scan: for iy in 2 * oy..2 * oy + 2 {
                            for ix in 2 * ox..2 * ox + 2 {
                                let v = plane[iy * w + ix];
                                if v > best || v.is_nan() {
                                    (best, at) = (v, (iy - 2 * oy) * 2 + (ix - 2 * ox));
                                    if v.is_nan() {
                                        break 'scan;
                                    }
                                }
                            }
                        }
                        let o = p * g.oh * g.ow + oy * g.ow + ox;
                        let what = format!("{h}×{w} plane {p} output ({oy}, {ox})");
                        assert!(
                            y[o] == best || (y[o].is_nan() && best.is_nan()),
                            "{what}: f32 value"
                        );
                        assert_eq!(am[o] as usize, at, "{what}: f32 argmax");
                        assert!(
                            y64[o] as f32 == best || (y64[o].is_nan() && best.is_nan()),
                            "{what}: f64"
                        );
                        assert_eq!(am64[o] as usize, at, "{what}: f64 argmax");
                    }
                }
            }
        }
    }

    /// The 2×2 backward fast path against a plain scatter of each output gradient to its
    /// recorded tap, on planes with odd sides (their last row or column gets zero) and over a
    /// buffer that held other values before.
    #[test]
    fn two_by_two_max_pool_backward_matches_a_plain_scatter() {
        for (h, w) in [(2, 2), (3, 5), (7, 7), (28, 28), (5, 70)] {
            let g = Window2d::new([2, 3, h, w], [2, 2], [2, 2], [0, 0], [1, 1]).unwrap();
            let len = g.n * g.c * g.oh * g.ow;
            let dy: Vec<f64> = (0..len).map(|i| (i as f64) * 0.25 - 3.0).collect();
            let am: Vec<f64> = (0..len).map(|i| ((i * 7 + i / 3) % 4) as f64).collect();
            let mut dx = vec![9.0f64; g.n * g.c * h * w];
            max_pool2d_backward(&dy, &am, &mut dx, g);
            let mut want = vec![0.0f64; dx.len()];
            for p in 0..g.n * g.c {
                for o in 0..g.oh * g.ow {
                    let (oy, ox, tap) = (o / g.ow, o % g.ow, am[p * g.oh * g.ow + o] as usize);
                    let (iy, ix) = (2 * oy + tap / 2, 2 * ox + tap % 2);
                    want[p * h * w + iy * w + ix] += dy[p * g.oh * g.ow + o];
                }
            }
            assert_eq!(dx, want, "{h}×{w}");
        }
    }
}
