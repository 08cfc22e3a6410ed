//! matmul for a small output over a long reduction, `c[i, j] = a[i, :] · b[j, :]` with both
//! operands row-major along `k` (`a·bᵀ`), in f32 on AVX-512: a convolution's weight gradient
//! `dW = dy·colsᵀ`, where `k` is every output pixel of the batch (43,264 for the CNN training benchmark's (W3) first layer)
//! and `c` has a few dozen to a few thousand values.
//!
//! gemm packs both operands for such shapes and ran the CNN training benchmark's (W3) first-layer product (8×43264×9) at
//! 10 GFLOP/s. Here each worker takes a fixed share of `k`, computes all of `c` over it in 4×4
//! tiles of dot products (four rows of `a` against four rows of `b`: eight loads feed sixteen
//! FMA chains), and the partial results are summed in worker order, so the result does not
//! depend on scheduling.

use crate::CpuBuf;

/// Whether `a·bᵀ` of these sizes goes here: a small output and a reduction long enough for the
/// split over workers to pay.
pub(crate) fn suits(m: usize, k: usize, n: usize) -> bool {
    m * n <= 4096 && k >= 2048 && k >= 16 * m.max(n)
}

/// `c = a·bᵀ` for `a` (`m × k`) and `b` (`n × k`), `c` (`m × n`), on up to `threads` workers.
/// Callers check [`crate::matmul_row::available`].
pub(crate) fn rows_dot_rows(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    (m, k, n): (usize, usize, usize),
    threads: usize,
) {
    if a.len() < m * k || b.len() < n * k || c.len() < m * n {
        debug_assert!(false, "matmul: buffers smaller than {m}×{k}·({n}×{k})ᵀ");
        return;
    }
    let threads = threads.clamp(1, (k / 1024).max(1));
    if threads <= 1 {
        // SAFETY: AVX-512F is checked by the caller; sizes checked above.
        unsafe { partial(a, b, &mut c[..m * n], m, k, n, 0..k) };
        return;
    }
    // Worker t sums k in [k·t/T, k·(t+1)/T) into its own m×n block.
    let mut partials = CpuBuf::<f32>::scratch(threads * m * n);
    {
        use rayon::prelude::*;
        partials[..threads * m * n].par_chunks_mut(m * n).enumerate().for_each(|(t, out)| {
            let span = k * t / threads..k * (t + 1) / threads;
            // SAFETY: as above; `out` is this worker's own block.
            unsafe { partial(a, b, out, m, k, n, span) };
        });
    }
    let (first, rest) = partials[..threads * m * n].split_at(m * n);
    c[..m * n].copy_from_slice(first);
    for block in rest.chunks_exact(m * n) {
        c[..m * n].iter_mut().zip(block).for_each(|(d, &v)| *d += v);
    }
}

/// `out[i, j] = a[i, span] · b[j, span]` for every `i < m`, `j < n`.
///
/// # Safety
/// The CPU must support AVX-512F; `a` holds `m·k` values, `b` `n·k`, `out` `m·n`, and `span` lies
/// in `0..k`.
#[target_feature(enable = "avx512f")]
unsafe fn partial(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    span: std::ops::Range<usize>,
) {
    let mut i = 0;
    while i < m {
        let rows_a = (m - i).min(4);
        let mut j = 0;
        while j < n {
            let rows_b = (n - j).min(4);
            // SAFETY: rows `i..i + rows_a` of `a` and `j..j + rows_b` of `b` exist, the span
            // lies inside each row (the caller's contract).
            let tile = unsafe { tile_4x4(a, b, k, (i, rows_a), (j, rows_b), span.clone()) };
            for (r, row) in tile.iter().enumerate().take(rows_a) {
                out[(i + r) * n + j..(i + r) * n + j + rows_b].copy_from_slice(&row[..rows_b]);
            }
            j += 4;
        }
        i += 4;
    }
}

/// Dot products of up to four rows of `a` (from row `i`) with up to four rows of `b` (from row
/// `j`) over `span`; rows past `rows_a`/`rows_b` repeat the last valid row and their results
/// are ignored by the caller.
///
/// # Safety
/// The CPU must support AVX-512F; rows `i..i + rows_a` of `a` and `j..j + rows_b` of `b` (each
/// `k` long) exist, `rows_a`, `rows_b` ≥ 1, and `span` lies in `0..k`.
#[target_feature(enable = "avx512f")]
unsafe fn tile_4x4(
    a: &[f32],
    b: &[f32],
    k: usize,
    (i, rows_a): (usize, usize),
    (j, rows_b): (usize, usize),
    span: std::ops::Range<usize>,
) -> [[f32; 4]; 4] {
    use std::arch::x86_64::*;
    let pa: [*const f32; 4] = std::array::from_fn(|r| a[(i + r.min(rows_a - 1)) * k..].as_ptr());
    let pb: [*const f32; 4] = std::array::from_fn(|r| b[(j + r.min(rows_b - 1)) * k..].as_ptr());
    let mut acc = [[_mm512_setzero_ps(); 4]; 4];
    let mut p = span.start;
    while p + 16 <= span.end {
        // SAFETY: `p + 16 ≤ span.end ≤ k`: inside every row used.
        unsafe {
            let va: [__m512; 4] = std::array::from_fn(|r| _mm512_loadu_ps(pa[r].add(p)));
            let vb: [__m512; 4] = std::array::from_fn(|r| _mm512_loadu_ps(pb[r].add(p)));
            for (accs, x) in acc.iter_mut().zip(va) {
                for (s, y) in accs.iter_mut().zip(vb) {
                    *s = _mm512_fmadd_ps(x, y, *s);
                }
            }
        }
        p += 16;
    }
    let tail = p..span.end;
    std::array::from_fn(|r| {
        std::array::from_fn(|s| {
            let ra = &a[(i + r.min(rows_a - 1)) * k..];
            let rb = &b[(j + s.min(rows_b - 1)) * k..];
            let rest: f32 = tail.clone().map(|q| ra[q] * rb[q]).sum();
            _mm512_reduce_add_ps(acc[r][s]) + rest
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against f64 sums for shapes with and without whole 4×4 tiles and 16-value steps, on one
    /// and on all workers.
    #[test]
    fn matches_f64_dot_products() {
        if !crate::matmul_row::available() {
            shapeflow_core::skip_test("no AVX-512 on this machine");
            return;
        }
        for (m, k, n) in [(1, 5, 1), (3, 17, 2), (8, 4099, 9), (16, 7744, 72), (5, 2048, 7)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32) / 101.0 - 0.5).collect();
            let b: Vec<f32> = (0..n * k).map(|i| ((i * 53 % 97) as f32) / 97.0 - 0.5).collect();
            for threads in [1, rayon::current_num_threads()] {
                let mut c = vec![f32::NAN; m * n];
                rows_dot_rows(&a, &b, &mut c, (m, k, n), threads);
                check(&a, &b, &c, (m, k, n));
            }
        }
    }

    fn check(a: &[f32], b: &[f32], c: &[f32], (m, k, n): (usize, usize, usize)) {
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|p| a[i * k + p] as f64 * b[j * k + p] as f64).sum();
                let got = c[i * n + j] as f64;
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()) * (k as f64).sqrt(),
                    "{m}×{k}×{n} [{i}, {j}]: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn routes_only_small_outputs_over_long_reductions() {
        assert!(suits(8, 43264, 9) && suits(16, 7744, 72));
        assert!(!suits(128, 784, 512) && !suits(64, 400, 10) && !suits(1, 784, 512));
    }
}
