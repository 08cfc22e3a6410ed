//! Elementwise kernels: mul, sub, axpy, scale, sum, sum_squares.

use shapeflow_core::Elem;

/// `out = a ⊙ b`.
pub(crate) fn mul<E: Elem>(a: &[E], b: &[E], out: &mut [E]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

/// `out = a − b`.
pub(crate) fn sub<E: Elem>(a: &[E], b: &[E], out: &mut [E]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x - y;
    }
}

/// `y += alpha·x`.
pub(crate) fn axpy<E: Elem>(alpha: E, x: &[E], y: &mut [E]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = *o + alpha * v;
    }
}

/// `x *= alpha`.
pub(crate) fn scale<E: Elem>(x: &mut [E], alpha: E) {
    x.iter_mut().for_each(|v| *v = *v * alpha);
}

/// Σ x, accumulated in f64.
pub(crate) fn sum<E: Elem>(x: &[E]) -> f64 {
    x.iter().map(|v| v.as_f64()).sum()
}

/// Σ x², accumulated in f64.
pub(crate) fn sum_squares<E: Elem>(x: &[E]) -> f64 {
    x.iter().map(|v| v.as_f64() * v.as_f64()).sum()
}

/// `y[r, i] = x[r, i] · m[r]`.
pub(crate) fn mul_rows_broadcast<E: Elem>(
    x: &[E],
    m: &[E],
    y: &mut [E],
    rows: usize,
    inner: usize,
) {
    if inner == 0 {
        return;
    }
    for ((ys, xs), &mv) in y.chunks_exact_mut(inner).zip(x.chunks_exact(inner)).zip(m).take(rows) {
        for (o, &v) in ys.iter_mut().zip(xs) {
            *o = v * mv;
        }
    }
}

/// `y[b, c, r, i] = x[b, r, c, i]` for `batch` matrices of `rows × cols` `inner`-element blocks.
pub(crate) fn transpose_blocks<E: Elem>(
    x: &[E],
    y: &mut [E],
    batch: usize,
    rows: usize,
    cols: usize,
    inner: usize,
) {
    use rayon::prelude::*;
    let n = batch * rows * cols * inner;
    if x.len() < n || y.len() < n || inner == 0 || rows == 0 || cols == 0 {
        return;
    }
    y[..n].par_chunks_mut(rows * inner).enumerate().for_each(|(q, out)| {
        let (b, c) = (q / cols, q % cols);
        if inner == 1 {
            for (r, v) in out.iter_mut().enumerate() {
                *v = x[(b * rows + r) * cols + c];
            }
        } else {
            for (r, block) in out.chunks_exact_mut(inner).enumerate() {
                let at = ((b * rows + r) * cols + c) * inner;
                block.copy_from_slice(&x[at..at + inner]);
            }
        }
    });
}

/// `y[c, r] = x[r, c]` for `x` of `rows × cols`, in 32×32 tiles (so reads and writes both stay
/// in cache), bands of 32 output rows in parallel.
pub(crate) fn transpose_2d<E: Elem>(x: &[E], y: &mut [E], rows: usize, cols: usize) {
    use rayon::prelude::*;
    const T: usize = 32;
    let n = rows * cols;
    if x.len() < n || y.len() < n || n == 0 {
        return;
    }
    y[..n].par_chunks_mut(T * rows).with_min_len(64 * 1024 / (T * rows) + 1).enumerate().for_each(
        |(band, out)| {
            let c0 = band * T;
            let width = out.len() / rows;
            for r0 in (0..rows).step_by(T) {
                let rn = (rows - r0).min(T);
                // Output-major inside the tile: each output row segment is written contiguously,
                // and the tile's input lines (a power-of-two stride apart at most T) stay in L1.
                for dc in 0..width {
                    let o = &mut out[dc * rows + r0..dc * rows + r0 + rn];
                    for (i, v) in o.iter_mut().enumerate() {
                        *v = x[(r0 + i) * cols + c0 + dc];
                    }
                }
            }
        },
    );
}

/// Clamps to `[lo, hi]` (NaN stays NaN).
pub(crate) fn clamp<E: Elem>(x: &mut [E], lo: f64, hi: f64) {
    let (lo, hi) = (E::from_f64(lo), E::from_f64(hi));
    x.iter_mut().for_each(|v| {
        if *v < lo {
            *v = lo;
        } else if *v > hi {
            *v = hi;
        }
    });
}

/// Σ x with eight independent accumulators, so the loop vectorises (the order of additions
/// differs from a sequential sum by rounding only).
pub(crate) fn sum8<E: Elem>(x: &[E]) -> E {
    let mut acc = [E::zero(); 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = *a + v;
        }
    }
    rest.iter().fold(acc.iter().fold(E::zero(), |s, &v| s + v), |s, &v| s + v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_2d_moves_every_element() {
        for (rows, cols) in [(1, 1), (3, 70), (33, 31), (128, 784), (65, 2)] {
            let x: Vec<f64> = (0..rows * cols).map(|i| i as f64).collect();
            let mut y = vec![f64::NAN; rows * cols];
            transpose_2d(&x, &mut y, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(y[c * rows + r], x[r * cols + c], "{rows}×{cols} at ({r}, {c})");
                }
            }
        }
    }
}
