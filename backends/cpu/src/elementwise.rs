//! Elementwise kernels: mul, sub, axpy, scale, sum, sum_squares.

use shapeflow_core::Elem;

#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};

use shapeflow_core::Activation;
use shapeflow_core::backend::Elementwise;

use crate::{CpuBuf, CpuDevice, CpuElem, activation, dropout};

impl<E: CpuElem> Elementwise for CpuDevice<E> {
    unsafe fn activation_unchecked(kind: Activation, x: &CpuBuf<E>, y: &mut CpuBuf<E>) {
        activation::forward(kind, x, y);
    }
    unsafe fn activation_with_derivative_unchecked(
        kind: Activation,
        x: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        d: &mut CpuBuf<E>,
    ) {
        activation::with_derivative(kind, x, y, d);
    }
    unsafe fn activation_backward_unchecked(
        kind: Activation,
        saved: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
    ) {
        activation::backward(kind, saved, dy, dx);
    }
    unsafe fn mul_unchecked(a: &CpuBuf<E>, b: &CpuBuf<E>, out: &mut CpuBuf<E>) {
        mul(a, b, out);
    }
    unsafe fn sub_unchecked(a: &CpuBuf<E>, b: &CpuBuf<E>, out: &mut CpuBuf<E>) {
        sub(a, b, out);
    }
    unsafe fn add_unchecked(a: &CpuBuf<E>, b: &CpuBuf<E>, out: &mut CpuBuf<E>) {
        add(a, b, out);
    }
    unsafe fn axpy_unchecked(alpha: E, x: &CpuBuf<E>, y: &mut CpuBuf<E>) {
        axpy(alpha, x, y);
    }
    fn scale(x: &mut CpuBuf<E>, alpha: E) {
        scale(x, alpha);
    }
    fn clamp(x: &mut CpuBuf<E>, lo: f64, hi: f64) {
        clamp(x, lo, hi);
    }
    fn sum(x: &CpuBuf<E>) -> f64 {
        sum(x)
    }
    fn sum_squares(x: &CpuBuf<E>) -> f64 {
        sum_squares(x)
    }
    unsafe fn mul_rows_broadcast_unchecked(
        x: &CpuBuf<E>,
        m: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        rows: usize,
        inner: usize,
    ) {
        mul_rows_broadcast(x, m, y, rows, inner);
    }
    fn dropout_mask(mask: &mut CpuBuf<E>, p: f64, seed: u64) {
        dropout::dropout_mask(mask, p, seed);
    }
}

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

/// `out = a + b`, over every worker for large buffers (an elementwise map: the same result
/// either way).
pub(crate) fn add<E: Elem>(a: &[E], b: &[E], out: &mut [E]) {
    use rayon::prelude::*;
    const PARALLEL_MIN: usize = 1 << 16;
    const CHUNK: usize = 1 << 14;
    let seq = |out: &mut [E], a: &[E], b: &[E]| {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = x + y;
        }
    };
    if out.len() >= PARALLEL_MIN {
        out.par_chunks_mut(CHUNK)
            .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
            .for_each(|(out, (a, b))| seq(out, a, b));
    } else {
        seq(out, a, b);
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
    #[cfg(target_arch = "x86_64")]
    let simd = std::arch::is_x86_feature_detected!("avx");
    y[..n].par_chunks_mut(T * rows).with_min_len(64 * 1024 / (T * rows) + 1).enumerate().for_each(
        |(band, out)| {
            let c0 = band * T;
            let width = out.len() / rows;
            #[cfg(target_arch = "x86_64")]
            if simd && let (Some(x), Some(out)) = (as_f32(&x[..n]), as_f32_mut(out)) {
                // SAFETY: AVX was detected; `out` is this band's `width` output rows.
                unsafe { transpose_band_avx(x, out, rows, cols, c0, width) };
                return;
            }
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

/// One band of [`transpose_2d`] for `f32`: output rows `c0..c0 + width` (input columns), in 8×8
/// blocks transposed in registers (eight loads, 24 shuffles, eight stores per 64 values instead
/// of 64 strided reads); the edges that do not fill a block are copied one by one.
///
/// # Safety
/// The CPU must support AVX; `x` holds `rows × cols` values, `out` `width × rows`, and
/// `c0 + width ≤ cols`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn transpose_band_avx(
    x: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    c0: usize,
    width: usize,
) {
    use std::arch::x86_64::*;
    if x.len() < rows * cols || out.len() < width * rows || c0 + width > cols {
        debug_assert!(false, "transpose: band {c0}+{width} outside {rows}×{cols}");
        return;
    }
    let (full_r, full_c) = (rows / 8 * 8, width / 8 * 8);
    for r0 in (0..full_r).step_by(8) {
        for dc in (0..full_c).step_by(8) {
            // SAFETY: rows `r0..r0 + 8` ≤ `rows` and columns `c0 + dc..c0 + dc + 8` ≤ `cols` are
            // inside `x`; output rows `dc..dc + 8` (of `rows` values) from `r0` inside `out`.
            unsafe {
                let load = |i: usize| _mm256_loadu_ps(x.as_ptr().add((r0 + i) * cols + c0 + dc));
                let r: [__m256; 8] = std::array::from_fn(load);
                let t0 = _mm256_unpacklo_ps(r[0], r[1]);
                let t1 = _mm256_unpackhi_ps(r[0], r[1]);
                let t2 = _mm256_unpacklo_ps(r[2], r[3]);
                let t3 = _mm256_unpackhi_ps(r[2], r[3]);
                let t4 = _mm256_unpacklo_ps(r[4], r[5]);
                let t5 = _mm256_unpackhi_ps(r[4], r[5]);
                let t6 = _mm256_unpacklo_ps(r[6], r[7]);
                let t7 = _mm256_unpackhi_ps(r[6], r[7]);
                let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let columns = [
                    _mm256_permute2f128_ps::<0x20>(u0, u4),
                    _mm256_permute2f128_ps::<0x20>(u1, u5),
                    _mm256_permute2f128_ps::<0x20>(u2, u6),
                    _mm256_permute2f128_ps::<0x20>(u3, u7),
                    _mm256_permute2f128_ps::<0x31>(u0, u4),
                    _mm256_permute2f128_ps::<0x31>(u1, u5),
                    _mm256_permute2f128_ps::<0x31>(u2, u6),
                    _mm256_permute2f128_ps::<0x31>(u3, u7),
                ];
                for (j, v) in columns.into_iter().enumerate() {
                    _mm256_storeu_ps(out.as_mut_ptr().add((dc + j) * rows + r0), v);
                }
            }
        }
    }
    // Edges: the last `width % 8` output rows, and the last `rows % 8` values of every row.
    for dc in 0..width {
        let from = if dc < full_c { full_r } else { 0 };
        for r in from..rows {
            out[dc * rows + r] = x[r * cols + c0 + dc];
        }
    }
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

    /// In f64 (the plain loop) and f32 (8×8 register blocks on AVX), for sizes with and without
    /// whole blocks and bands.
    #[test]
    fn transpose_2d_moves_every_element() {
        let sizes = [(1, 1), (3, 70), (33, 31), (128, 784), (65, 2), (8, 8), (16, 40), (9, 17)];
        for (rows, cols) in sizes {
            let x: Vec<f64> = (0..rows * cols).map(|i| i as f64).collect();
            let mut y = vec![f64::NAN; rows * cols];
            transpose_2d(&x, &mut y, rows, cols);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let mut y32 = vec![f32::NAN; rows * cols];
            transpose_2d(&x32, &mut y32, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(y[c * rows + r], x[r * cols + c], "{rows}×{cols} at ({r}, {c})");
                    assert_eq!(
                        y32[c * rows + r],
                        x32[r * cols + c],
                        "f32 {rows}×{cols} ({r}, {c})"
                    );
                }
            }
        }
    }
}
