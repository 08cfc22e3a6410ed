//! matmul: `c = op(a)·op(b) + beta·c` through the `gemm` crate, transposes expressed as strides;
//! one row times a transposed matrix (a `Linear` layer at batch 1) in `matmul_row.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};

use gemm::Parallelism;
use shapeflow_core::Elem;
use shapeflow_core::backend::Gemm;

use crate::elementwise::transpose_2d;
use crate::{CpuBuf, CpuElem};

#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
use crate::f32_view::{as_f32, as_f32_mut};

/// 0 = use every core rayon offers.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// A transposed left operand of at most this many values is transposed before the product.
const SMALL_LEFT: usize = 4096;

/// Below this many multiply-adds a product runs on one thread: thread start-up would dominate.
const PARALLEL_MIN_FLOPS: usize = 1 << 20;

/// Sets how many threads large matrix products use (0: all cores). Returns the previous value.
///
/// ```
/// let old = shapeflow_cpu::set_matmul_threads(1);
/// shapeflow_cpu::set_matmul_threads(old);
/// ```
pub fn set_matmul_threads(n: usize) -> usize {
    THREADS.swap(n, Ordering::Relaxed)
}

/// The threads products may use (`set_matmul_threads`, else every rayon worker).
pub(crate) fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => rayon::current_num_threads(),
        t => t,
    }
}

fn parallelism(m: usize, k: usize, n: usize) -> Parallelism {
    let threads = threads();
    if threads <= 1 || m.saturating_mul(k).saturating_mul(n) < PARALLEL_MIN_FLOPS {
        Parallelism::None
    } else {
        Parallelism::Rayon(threads)
    }
}

/// Row-major product as `g` describes it (`trans_a`: `a` stored `k × m`; `trans_b`: `b` stored
/// `n × k`).
pub(crate) fn matmul<E: CpuElem>(a: &[E], b: &[E], c: &mut [E], g: Gemm) {
    let Gemm { m, k, n, trans_a, trans_b, .. } = g;
    #[cfg(target_arch = "x86_64")]
    let beta = E::from_f64(g.beta);
    #[cfg(target_arch = "x86_64")]
    if m == 1 && trans_b && beta == E::zero() && fits(a, b, c, m, k, n) {
        // A `Linear` layer on one sample: dot products, each worker on a fixed share of the
        // weights (`matmul_row.rs`).
        if let (Some(a), Some(b), Some(c)) =
            (as_f32(&a[..k]), as_f32(&b[..k * n]), as_f32_mut(&mut c[..n]))
            && crate::matmul_row::available()
        {
            crate::matmul_row::row_times_rows(a, b, c);
            return;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if trans_b
        && !trans_a
        && beta == E::zero()
        && crate::matmul_dots::suits(m, k, n)
        && fits(a, b, c, m, k, n)
    {
        // A small output over a long reduction (a convolution's weight gradient): tiles of dot
        // products, the reduction split over workers (`matmul_dots.rs`).
        if let (Some(a), Some(b), Some(c)) =
            (as_f32(&a[..m * k]), as_f32(&b[..k * n]), as_f32_mut(&mut c[..m * n]))
            && crate::matmul_row::available()
        {
            crate::matmul_dots::rows_dot_rows(a, b, c, (m, k, n), threads());
            return;
        }
    }
    if trans_a
        && !trans_b
        && m * k <= SMALL_LEFT
        && m * k * n >= PARALLEL_MIN_FLOPS
        && fits(a, b, c, m, k, n)
    {
        // `aᵀ·b` with a small `a` (a convolution's `Wᵀ·dy`): transpose `a` and run a plain
        // product, which gemm streams ~2× faster (the CNN training benchmark's (W3) conv2: 155 → 75 µs measured).
        let mut a_t = CpuBuf::<E>::scratch(m * k);
        transpose_2d(&a[..k * m], &mut a_t, k, m);
        matmul_with(&a_t, b, c, Gemm { trans_a: false, ..g }, parallelism(m, k, n));
        return;
    }
    if trans_b && !trans_a && m < n && m * k * n >= PARALLEL_MIN_FLOPS && fits(a, b, c, m, k, n) {
        if 4 * m <= n {
            row_major_times_transposed(a, b, c, g);
        } else {
            // `b` is not much larger than `a` (fc2 of the MLP training benchmark (W2), 128×512×256): transpose it and run a
            // plain product; measured 252 → 192 µs (81 + 110).
            let mut b_t = CpuBuf::<E>::scratch(k * n);
            transpose_2d(&b[..n * k], &mut b_t, n, k);
            matmul_with(a, &b_t, c, Gemm { trans_b: false, ..g }, parallelism(m, k, n));
        }
        return;
    }
    matmul_with(a, b, c, g, parallelism(m, k, n));
}

fn fits<E>(a: &[E], b: &[E], c: &[E], m: usize, k: usize, n: usize) -> bool {
    a.len() >= m * k && b.len() >= k * n && c.len() >= m * n
}

/// `c = a·bᵀ (+ beta·c)` with `a` (`m × k`) much smaller than `b` (`n × k`, `n ≥ 4m`): a `Linear`
/// forward, a batch of rows times wide weights. gemm streams two k-contiguous operands poorly,
/// so this computes `cᵀ = b·aᵀ` as a plain product after transposing the small `a`, then
/// transposes the small result back. Measured at the MLP training benchmark's (W2) 128×784×512: 617 µs (gemm with
/// transposed output strides) → 528 µs (53 + 380 + 37); at 128×512×256 (n = 2m) it was 6 %
/// slower, hence the `n ≥ 4m` rule.
fn row_major_times_transposed<E: CpuElem>(a: &[E], b: &[E], c: &mut [E], g: Gemm) {
    let Gemm { m, k, n, .. } = g;
    let beta = E::from_f64(g.beta);
    let mut a_t = CpuBuf::<E>::scratch(k * m);
    transpose_2d(&a[..m * k], &mut a_t, m, k);
    let mut c_t = CpuBuf::<E>::scratch(n * m);
    matmul_with(b, &a_t, &mut c_t, Gemm::new(n, k, m), parallelism(n, k, m));
    if beta == E::zero() {
        transpose_2d(&c_t, &mut c[..m * n], n, m);
    } else {
        let mut fresh = CpuBuf::<E>::scratch(m * n);
        transpose_2d(&c_t, &mut fresh, n, m);
        c[..m * n].iter_mut().zip(fresh.iter()).for_each(|(d, &v)| *d = v + beta * *d);
    }
}

pub(crate) fn matmul_with<E: Elem>(a: &[E], b: &[E], c: &mut [E], g: Gemm, par: Parallelism) {
    let Gemm { m, k, n, trans_a, trans_b, .. } = g;
    let beta = E::from_f64(g.beta);
    if a.len() < m * k || b.len() < k * n || c.len() < m * n {
        debug_assert!(false, "matmul: buffers smaller than {m}×{k}·{k}×{n}");
        return;
    }
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: c = beta·c (never multiply unspecified scratch contents by zero).
        let zero = beta == E::zero();
        c[..m * n].iter_mut().for_each(|v| *v = if zero { E::zero() } else { *v * beta });
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if beta == E::zero()
        && let (Some(a), Some(b), Some(c)) = (as_f32(a), as_f32(b), as_f32_mut(c))
    {
        // WebAssembly SIMD: gemm has no simd128 kernels (`matmul_simd128.rs`).
        crate::matmul_simd128::matmul(a, b, c, (m, k, n), (trans_a, trans_b));
        let _ = par;
        return;
    }
    if trans_b && !trans_a {
        // `a·bᵀ` with both operands k-contiguous (every `Linear` forward): gemm runs this 20–25 %
        // faster as `cᵀ = b·aᵀ`, writing `c` through transposed strides (measured at the MLP training benchmark's (W2)
        // 128×784×512: 718 → 560 µs on 2 threads).
        // SAFETY: as below, with the roles of `a` and `b` swapped: `b` is n×k row-major
        // (column stride 1, row stride k), `aᵀ` is read from `a` (m×k row-major) with row
        // stride 1 and column stride k, and `cᵀ`'s element (j, i) is `c[i·n + j]`.
        unsafe {
            gemm::gemm(
                n,
                m,
                k,
                c.as_mut_ptr(),
                n as isize,
                1,
                beta != E::zero(),
                b.as_ptr(),
                1,
                k as isize,
                a.as_ptr(),
                k as isize,
                1,
                beta,
                E::one(),
                false,
                false,
                false,
                par,
            );
        }
        return;
    }
    // Strides (column stride, row stride) of each logical operand.
    let (a_cs, a_rs) = if trans_a { (m as isize, 1) } else { (1, k as isize) };
    let (b_cs, b_rs) = if trans_b { (k as isize, 1) } else { (1, n as isize) };
    // SAFETY: the three buffers hold at least m·k, k·n and m·n elements (checked above), and the
    // strides describe exactly those row-major (or transposed) layouts, so gemm reads and writes
    // in bounds; `c` is a unique borrow, distinct from `a` and `b`. gemm computes
    // dst = alpha·dst + beta·lhs·rhs, so our `beta` is its `alpha` and its `beta` is 1.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            beta != E::zero(),
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            beta,
            E::one(),
            false,
            false,
            false,
            par,
        );
    }
}

/// `count` products of contiguous blocks (see `Linalg::matmul_batched`): the blocks split over
/// the workers, each product on one thread.
pub(crate) fn matmul_batched<E: CpuElem>(a: &[E], b: &[E], c: &mut [E], g: Gemm, count: usize) {
    let Gemm { m, k, n, .. } = g;
    let (sa, sb, sc) = (m * k, k * n, m * n);
    if a.len() < count * sa || b.len() < count * sb || c.len() < count * sc || sc == 0 {
        debug_assert!(sc == 0, "matmul_batched: buffers smaller than {count} blocks");
        return;
    }
    use rayon::prelude::*;
    let one = |(i, ci): (usize, &mut [E])| {
        matmul_with(&a[i * sa..(i + 1) * sa], &b[i * sb..(i + 1) * sb], ci, g, Parallelism::None)
    };
    if threads() > 1 && count > 1 && count * m * k * n >= PARALLEL_MIN_FLOPS {
        c[..count * sc].par_chunks_mut(sc).enumerate().for_each(one);
    } else {
        c[..count * sc].chunks_mut(sc).enumerate().for_each(one);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    c[i * n + j] += av * bv;
                }
            }
        }
        c
    }

    /// Both transposing routes for `a·bᵀ` (large enough, `a` the smaller operand: `n ≥ 4m`
    /// transposes `a` and the result, `m < n < 4m` transposes `b`), with and without `beta`.
    #[test]
    fn transposing_routes_match_naive_product() {
        for (m, k, n) in [(20, 300, 211), (40, 300, 100)] {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let want = naive(&a, &b, m, k, n, false, true);
            for beta in [0.0, 0.5] {
                let mut c = vec![if beta == 0.0 { f64::NAN } else { 1.0 }; m * n];
                matmul(&a, &b, &mut c, Gemm { beta, ..Gemm::new(m, k, n).transpose_b() });
                for (i, (x, w)) in c.iter().zip(&want).enumerate() {
                    let w = w + if beta == 0.0 { 0.0 } else { 0.5 };
                    assert!((x - w).abs() < 1e-9, "{m}×{k}×{n} beta={beta} at {i}: {x} vs {w}");
                }
            }
        }
    }

    #[test]
    fn matches_naive_product_for_every_transpose() {
        let (m, k, n) = (7, 5, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut c = vec![1.0; m * n];
            matmul(&a, &b, &mut c, Gemm { m, k, n, trans_a: ta, trans_b: tb, beta: 0.5 });
            let want = naive(&a, &b, m, k, n, ta, tb);
            for (x, w) in c.iter().zip(&want) {
                assert!((x - (w + 0.5)).abs() < 1e-12, "ta={ta} tb={tb}: {x} vs {}", w + 0.5);
            }
        }
    }
}
