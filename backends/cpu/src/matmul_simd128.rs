//! matmul on WebAssembly SIMD (`simd128`), where the `gemm` crate runs scalar kernels: `op(b)`
//! packed into panels of 8 columns, then 4 × 8 output tiles accumulated in eight `f32x4`
//! registers (`c = op(a)·op(b)`; the caller keeps `beta ≠ 0` on gemm). Compiled only for
//! `wasm32` with `-C target-feature=+simd128`; the web-mnist browser test checks its results
//! against the native backend.

use std::arch::wasm32::*;

/// Columns per packed panel of `op(b)`.
const PANEL: usize = 8;

/// Rows per output tile.
const ROWS: usize = 4;

/// `c[m×n] = op(a)[m×k] · op(b)[k×n]`, row-major, `a` stored `k × m` when `trans_a` and `b`
/// stored `n × k` when `trans_b`. Callers check the buffer sizes.
pub(crate) fn matmul(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    (m, k, n): (usize, usize, usize),
    (trans_a, trans_b): (bool, bool),
) {
    let a_at = |i: usize, p: usize| if trans_a { a[p * m + i] } else { a[i * k + p] };
    let b_at = |p: usize, j: usize| if trans_b { b[j * k + p] } else { b[p * n + j] };
    // Every row block of op(a), packed `[k][ROWS]` (rows past `m` zero).
    let blocks = m.div_ceil(ROWS);
    let mut a_pack = vec![0.0f32; blocks * k * ROWS];
    for (blk, pack) in a_pack.chunks_exact_mut(k * ROWS).enumerate() {
        for p in 0..k {
            for r in 0..ROWS.min(m - blk * ROWS) {
                pack[p * ROWS + r] = a_at(blk * ROWS + r, p);
            }
        }
    }
    let mut panel = vec![0.0f32; k * PANEL];
    for j0 in (0..n).step_by(PANEL) {
        let width = PANEL.min(n - j0);
        for p in 0..k {
            for (jj, v) in panel[p * PANEL..(p + 1) * PANEL].iter_mut().enumerate() {
                *v = if jj < width { b_at(p, j0 + jj) } else { 0.0 };
            }
        }
        for (blk, pack) in a_pack.chunks_exact(k * ROWS).enumerate() {
            let mut acc = [[f32x4_splat(0.0); 2]; ROWS];
            for (ap, bp) in pack.chunks_exact(ROWS).zip(panel.chunks_exact(PANEL)) {
                let (b0, b1) = (load(&bp[..4]), load(&bp[4..]));
                for (row, &x) in acc.iter_mut().zip(ap) {
                    let x = f32x4_splat(x);
                    row[0] = f32x4_add(row[0], f32x4_mul(x, b0));
                    row[1] = f32x4_add(row[1], f32x4_mul(x, b1));
                }
            }
            let i0 = blk * ROWS;
            for (r, row) in acc.iter().enumerate().take(ROWS.min(m - i0)) {
                let mut out = [0.0f32; PANEL];
                store(&mut out[..4], row[0]);
                store(&mut out[4..], row[1]);
                let at = (i0 + r) * n + j0;
                c[at..at + width].copy_from_slice(&out[..width]);
            }
        }
    }
}

/// The first four values as a vector.
fn load(v: &[f32]) -> v128 {
    assert!(v.len() >= 4);
    // SAFETY: `v` holds at least four `f32`s (16 bytes), and `v128_load` reads unaligned.
    unsafe { v128_load(v.as_ptr().cast::<v128>()) }
}

/// A vector into the first four values of `out`.
fn store(out: &mut [f32], v: v128) {
    assert!(out.len() >= 4);
    // SAFETY: `out` holds at least four `f32`s, and `v128_store` writes unaligned.
    unsafe { v128_store(out.as_mut_ptr().cast::<v128>(), v) }
}
