//! max_pool2d / avg_pool2d and their backward passes, one channel plane per task.

use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::Window2d;

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

/// Max over each window; `argmax` holds the winning input index within its plane.
pub(crate) fn max_pool2d<E: Elem>(x: &[E], y: &mut [E], argmax: &mut [E], g: Window2d) {
    if !sizes_ok(x, y, &g) || argmax.len() < y.len() {
        return;
    }
    let (pin, pout) = (g.h * g.w, g.oh * g.ow);
    y.par_chunks_mut(pout).zip(argmax.par_chunks_mut(pout)).enumerate().for_each(
        |(p, (ys, am))| {
            let xs = &x[p * pin..(p + 1) * pin];
            if g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 {
                // The common 2×2, stride-2 window: four fixed candidates, no range arithmetic.
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let base = 2 * oy * g.w + 2 * ox;
                        let mut best = E::neg_infinity();
                        let mut at = base;
                        for i in [base, base + 1, base + g.w, base + g.w + 1] {
                            let v = xs[i];
                            if v > best || v.is_nan() {
                                best = v;
                                at = i;
                                if v.is_nan() {
                                    break;
                                }
                            }
                        }
                        ys[oy * g.ow + ox] = best;
                        am[oy * g.ow + ox] = E::from_f64(at as f64);
                    }
                }
                return;
            }
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut best = E::neg_infinity();
                    let mut at = 0usize;
                    let (rows, cols) = window(&g, oy, ox);
                    'window: for iy in rows {
                        for ix in cols.clone() {
                            let v = xs[iy * g.w + ix];
                            // NaN propagates, as in PyTorch.
                            if v > best || v.is_nan() {
                                best = v;
                                at = iy * g.w + ix;
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

/// Routes each output gradient to its window's maximum.
pub(crate) fn max_pool2d_backward<E: Elem>(dy: &[E], argmax: &[E], dx: &mut [E], g: Window2d) {
    if !sizes_ok(dx, dy, &g) || argmax.len() < dy.len() {
        return;
    }
    let (pin, pout) = (g.h * g.w, g.oh * g.ow);
    dx[..g.n * g.c * pin].par_chunks_mut(pin).enumerate().for_each(|(p, d)| {
        d.iter_mut().for_each(|v| *v = E::zero());
        for (&gy, &a) in dy[p * pout..(p + 1) * pout].iter().zip(&argmax[p * pout..(p + 1) * pout])
        {
            if let Some(slot) = d.get_mut(a.as_f64() as usize) {
                *slot = *slot + gy;
            }
        }
    });
}

/// Mean over each window, dividing by the full kernel area (padding counts as zeros).
pub(crate) fn avg_pool2d<E: Elem>(x: &[E], y: &mut [E], g: Window2d) {
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
pub(crate) fn avg_pool2d_backward<E: Elem>(dy: &[E], dx: &mut [E], g: Window2d) {
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
