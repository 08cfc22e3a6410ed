//! matmul against a right operand packed once and used many times: `c = a·b (+ c)` with `b`
//! (`k × n`) stored as panels of 16 columns, each panel `k` rows of 16 contiguous values (zero
//! past `n`). A recurrent layer multiplies its state by the same `W_hh` at every step (`[32,
//! 256]·[256, 1024]` in the character-LSTM training benchmark (W5), 128 steps); gemm packs `W_hh` again in every call, this packs it once
//! per pass. In f32 on AVX2 with FMA: tiles of up to 6 rows × 16 columns, 12 accumulators.

/// Columns per panel (two 8-lane vectors).
const PANEL: usize = 16;
/// Rows per tile (6 × 2 accumulators + 2 panel vectors + 1 broadcast: 15 of 16 registers).
const TILE_ROWS: usize = 6;
/// Reduction values per pass over a panel: a panel's share of 256 × 16 values stays in L1.
const KC: usize = 256;

/// Whether this machine runs the packed kernel.
pub(crate) fn available() -> bool {
    crate::f32_view::avx2_fma()
}

/// A `k × n` right operand in panels of 16 columns.
pub(crate) struct Packed {
    data: Vec<f32>,
    k: usize,
    n: usize,
}

impl Packed {
    /// `b = wᵀ` for `w` stored `n × k` row-major (`h·W_hhᵀ`, `W_hh` being `[4·hidden, hidden]`);
    /// `None` where the kernel does not run ([`available`]).
    pub fn transposed(w: &[f32], n: usize, k: usize) -> Option<Packed> {
        available().then(|| Packed::build(k, n, |kk, j| w.get(j * k + kk).copied().unwrap_or(0.0)))
    }

    /// `b = w` for `w` stored `k × n` row-major (`dgates·W_hh`); `None` as above.
    pub fn plain(w: &[f32], k: usize, n: usize) -> Option<Packed> {
        available().then(|| Packed::build(k, n, |kk, j| w.get(kk * n + j).copied().unwrap_or(0.0)))
    }

    fn build(k: usize, n: usize, at: impl Fn(usize, usize) -> f32) -> Packed {
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0.0f32; panels * k * PANEL];
        for (p, panel) in data.chunks_exact_mut(k * PANEL).enumerate() {
            for (kk, row) in panel.chunks_exact_mut(PANEL).enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    let j = p * PANEL + c;
                    if j < n {
                        *v = at(kk, j);
                    }
                }
            }
        }
        Packed { data, k, n }
    }

    /// `c = a·b`, or `c += a·b` with `accumulate`, for `a` of `m = a.len() / k` rows (`m × k`
    /// row-major) and `c` `m × n` row-major. Single-threaded.
    pub fn multiply(&self, a: &[f32], c: &mut [f32], accumulate: bool) {
        let (k, n) = (self.k, self.n);
        if k == 0 {
            if !accumulate {
                c.fill(0.0);
            }
            return;
        }
        let m = a.len() / k;
        if c.len() < m * n {
            debug_assert!(c.len() >= m * n, "packed matmul: {} outputs for {m}×{n}", c.len());
            return;
        }
        for (p, panel) in self.data.chunks_exact(k * PANEL).enumerate() {
            let (col, width) = (p * PANEL, PANEL.min(n - p * PANEL));
            let mut r0 = 0;
            while r0 < m {
                let rows = TILE_ROWS.min(m - r0);
                let mut kc = 0;
                while kc < k {
                    let len = KC.min(k - kc);
                    let tile = Tile {
                        a: &a[r0 * k + kc..],
                        lda: k,
                        len,
                        panel: &panel[kc * PANEL..(kc + len) * PANEL],
                        width,
                        accumulate: accumulate || kc > 0,
                    };
                    let c = &mut c[r0 * n + col..];
                    // SAFETY: a `Packed` exists only where `available()`; `Tile::run` reads `rows` rows of
                    // `a` (stride `k`, `len` values each from `kc`: inside `a` as `m × k`),
                    // the panel's `len × 16` values, and writes `rows` rows of `width` values
                    // of `c` at stride `n` (inside `c` as `m × n`).
                    unsafe {
                        match rows {
                            1 => tile.run::<1>(c, n),
                            2 => tile.run::<2>(c, n),
                            3 => tile.run::<3>(c, n),
                            4 => tile.run::<4>(c, n),
                            5 => tile.run::<5>(c, n),
                            _ => tile.run::<6>(c, n),
                        }
                    }
                    kc += len;
                }
                r0 += rows;
            }
        }
    }
}

/// One tile's operands: rows of `a` from `a[0]` at stride `lda`, `len` reduction values, the
/// panel's matching `len × 16` values; `width` of the 16 columns are real.
struct Tile<'a> {
    a: &'a [f32],
    lda: usize,
    len: usize,
    panel: &'a [f32],
    width: usize,
    accumulate: bool,
}

impl Tile<'_> {
    /// `R` rows of `c` (stride `ldc`) get the tile's product (added to them when accumulating).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; `a` must hold `(R − 1)·lda + len` values, the panel
    /// `len·16`, and `c` `(R − 1)·ldc + width`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run<const R: usize>(&self, c: &mut [f32], ldc: usize) {
        use std::arch::x86_64::*;
        let (lda, len, width) = (self.lda, self.len, self.width);
        if self.a.len() < (R - 1) * lda + len
            || self.panel.len() < len * PANEL
            || c.len() < (R - 1) * ldc + width
        {
            debug_assert!(false, "packed matmul: a tile outside its operands");
            return;
        }
        let (ap, bp) = (self.a.as_ptr(), self.panel.as_ptr());
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for kk in 0..len {
            // SAFETY: `kk < len`: the panel holds `len·16` values and each of the `R` rows of
            // `a` `len` from its start (checked above).
            unsafe {
                let b0 = _mm256_loadu_ps(bp.add(kk * PANEL));
                let b1 = _mm256_loadu_ps(bp.add(kk * PANEL + 8));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = _mm256_set1_ps(*ap.add(r * lda + kk));
                    acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
                    acc[1] = _mm256_fmadd_ps(av, b1, acc[1]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let mut out = [0.0f32; PANEL];
            // SAFETY: `out` holds 16 values.
            unsafe {
                _mm256_storeu_ps(out.as_mut_ptr(), acc[0]);
                _mm256_storeu_ps(out.as_mut_ptr().add(8), acc[1]);
            }
            let row = &mut c[r * ldc..r * ldc + width];
            if self.accumulate {
                row.iter_mut().zip(out).for_each(|(d, v)| *d += v);
            } else {
                row.copy_from_slice(&out[..width]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against f64 sums, both packings, with and without accumulation, for sizes around the
    /// 16-column panels, the 6-row tiles and the 256-value reduction blocks.
    #[test]
    fn matches_f64_products() {
        if !available() {
            shapeflow_core::skip_test("no AVX2/FMA on this machine");
            return;
        }
        for (m, k, n) in
            [(1, 1, 1), (5, 7, 17), (6, 16, 16), (7, 300, 33), (16, 256, 1024), (13, 513, 40)]
        {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32) / 101.0 - 0.5).collect();
            let w: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32) / 97.0 - 0.5).collect();
            // `w` as `k × n` (plain) and as its transpose stored `n × k`.
            let wt: Vec<f32> = (0..n * k).map(|i| w[(i % k) * n + i / k]).collect();
            let both =
                [(Packed::plain(&w, k, n), "plain"), (Packed::transposed(&wt, n, k), "transposed")];
            for (packed, name) in both {
                let packed = packed.expect("available");
                for accumulate in [false, true] {
                    let start: Vec<f32> = (0..m * n).map(|i| (i % 5) as f32 * 0.25).collect();
                    let mut c = if accumulate { start.clone() } else { vec![f32::NAN; m * n] };
                    packed.multiply(&a, &mut c, accumulate);
                    for i in 0..m {
                        for j in 0..n {
                            let mut want: f64 =
                                (0..k).map(|p| a[i * k + p] as f64 * w[p * n + j] as f64).sum();
                            if accumulate {
                                want += start[i * n + j] as f64;
                            }
                            let got = c[i * n + j] as f64;
                            assert!(
                                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                                "{name} {m}×{k}×{n} ({accumulate}) at {i},{j}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
