//! matmul for one row times a transposed matrix, `c[j] = a · b[j, :]` (a `Linear` layer on a
//! batch of one), in f32 on AVX-512.
//!
//! At batch 1 the product is bound by reading the weights. Each rayon worker always takes the
//! same share of `b`'s rows (`rayon::broadcast` numbers the workers), so across repeated calls
//! a worker's share stays in its core's L2 cache instead of streaming from L3: the 2.1 MB of the
//! benchmark MLP's weights read at ~100 GB/s on two cores instead of ~45.

/// Below this many multiply-adds one thread does the whole product.
const PARALLEL_MIN: usize = 1 << 16;

/// Whether this machine runs the kernel.
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// `c[j] = a · b[j·k .. (j + 1)·k]` for every `j < c.len()`, with `k = a.len()`. Callers check
/// [`available`] and that `b` holds `c.len()·k` values.
pub(crate) fn row_times_rows(a: &[f32], b: &[f32], c: &mut [f32]) {
    let (n, k) = (c.len(), a.len());
    if b.len() < n * k {
        debug_assert!(false, "matmul: {} weights for {n}×{k}", b.len());
        return;
    }
    if n * k < PARALLEL_MIN || rayon::current_num_threads() <= 1 {
        dot_rows(a, b, c);
        return;
    }
    let out = Shares { ptr: c.as_mut_ptr(), len: n };
    rayon::broadcast(|ctx| {
        let (t, threads) = (ctx.index(), ctx.num_threads());
        let (lo, hi) = (n * t / threads, n * (t + 1) / threads);
        // SAFETY: worker `t` alone gets `lo..hi` (the shares partition `0..n`), and `c` stays
        // borrowed until `broadcast` returns.
        let share = unsafe { out.share(lo, hi) };
        dot_rows(a, &b[lo * k..hi * k], share);
    });
}

/// `c[j] = a · rows[j]` for consecutive rows of `a.len()` values: four rows at a time (each load
/// of `a` feeds four rows, eight FMA chains in flight), the rest one by one.
fn dot_rows(a: &[f32], rows: &[f32], c: &mut [f32]) {
    let k = a.len().max(1);
    let rows = &rows[..(c.len() * k).min(rows.len())];
    let mut quads = c.chunks_exact_mut(4);
    let mut rest = rows.chunks_exact(4 * k);
    for (c4, r4) in (&mut quads).zip(&mut rest) {
        // SAFETY: `available()` was checked by the caller of `row_times_rows`.
        let sums = unsafe { dot4(a, r4) };
        c4.copy_from_slice(&sums);
    }
    for (cj, row) in quads.into_remainder().iter_mut().zip(rest.remainder().chunks_exact(k)) {
        // SAFETY: as above.
        *cj = unsafe { dot(a, row) };
    }
}

/// `[x · r0, x · r1, x · r2, x · r3]` for the four consecutive rows of `x.len()` values in `rows`.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn dot4(x: &[f32], rows: &[f32]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let k = x.len();
    if rows.len() < 4 * k {
        debug_assert!(false, "dot4: {} values for 4 rows of {k}", rows.len());
        return [0.0; 4];
    }
    let xp = x.as_ptr();
    let rp: [*const f32; 4] = std::array::from_fn(|r| rows[r * k..].as_ptr());
    let mut acc = [[_mm512_setzero_ps(); 2]; 4];
    let mut p = 0;
    while p + 32 <= k {
        // SAFETY: `p + 32 ≤ k`: inside `x` and inside each of the four rows.
        unsafe {
            let (x0, x1) = (_mm512_loadu_ps(xp.add(p)), _mm512_loadu_ps(xp.add(p + 16)));
            for (a, r) in acc.iter_mut().zip(rp) {
                a[0] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(r.add(p)), a[0]);
                a[1] = _mm512_fmadd_ps(x1, _mm512_loadu_ps(r.add(p + 16)), a[1]);
            }
        }
        p += 32;
    }
    if p + 16 <= k {
        // SAFETY: `p + 16 ≤ k`, as above.
        unsafe {
            let x0 = _mm512_loadu_ps(xp.add(p));
            for (a, r) in acc.iter_mut().zip(rp) {
                a[0] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(r.add(p)), a[0]);
            }
        }
        p += 16;
    }
    std::array::from_fn(|r| {
        let tail: f32 = (p..k).map(|i| x[i] * rows[r * k + i]).sum();
        _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1])) + tail
    })
}

/// `Σ x·y` with four 16-lane accumulators (two FMAs per cycle need four chains in flight).
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn dot(x: &[f32], y: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let k = x.len().min(y.len());
    let (xp, yp) = (x.as_ptr(), y.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut p = 0;
    while p + 64 <= k {
        for (v, a) in acc.iter_mut().enumerate() {
            // SAFETY: `p + 16·v + 16 ≤ p + 64 ≤ k`, inside both slices.
            unsafe {
                let (xv, yv) =
                    (_mm512_loadu_ps(xp.add(p + 16 * v)), _mm512_loadu_ps(yp.add(p + 16 * v)));
                *a = _mm512_fmadd_ps(xv, yv, *a);
            }
        }
        p += 64;
    }
    while p + 16 <= k {
        // SAFETY: `p + 16 ≤ k`, inside both slices.
        unsafe {
            acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(xp.add(p)), _mm512_loadu_ps(yp.add(p)), acc[0])
        };
        p += 16;
    }
    let sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
    _mm512_reduce_add_ps(sum) + x[p..k].iter().zip(&y[p..k]).map(|(a, b)| a * b).sum::<f32>()
}

/// The output, shared by workers that write disjoint shares.
struct Shares {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: only disjoint shares are handed out (see `share`), and the buffer outlives the
// workers (`broadcast` returns after all of them).
unsafe impl Sync for Shares {}

impl Shares {
    /// `c[lo..hi]`.
    ///
    /// # Safety
    /// No other live slice may overlap `lo..hi`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn share(&self, lo: usize, hi: usize) -> &mut [f32] {
        assert!(lo <= hi && hi <= self.len, "matmul: share {lo}..{hi} outside {}", self.len);
        // SAFETY: in bounds (asserted); exclusivity is the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(lo), hi - lo) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against f64 sums, for lengths around the 64- and 16-value steps, on one and on all
    /// threads (sizes above and below the parallel threshold).
    #[test]
    fn matches_f64_dot_products() {
        if !available() {
            shapeflow_core::skip_test("no AVX-512 on this machine");
            return;
        }
        for (k, n) in [(1, 3), (15, 7), (16, 5), (17, 9), (63, 4), (64, 33), (100, 700), (784, 512)]
        {
            let a: Vec<f32> = (0..k).map(|i| ((i * 37 % 101) as f32) / 101.0 - 0.5).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32) / 97.0 - 0.5).collect();
            let mut c = vec![f32::NAN; n];
            row_times_rows(&a, &b, &mut c);
            for (j, &got) in c.iter().enumerate() {
                let want: f64 = (0..k).map(|p| a[p] as f64 * b[j * k + p] as f64).sum();
                assert!(
                    (got as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{k}×{n} row {j}: {got} vs {want}"
                );
            }
        }
    }
}
