//! The kernels' side of the transform: `U = G·g·Gᵀ` of every 3×3 kernel (forward and
//! adjoint), and its adjoint `dg = Gᵀ·dU·G` for the weight gradient.

use super::{POS, WIN, window};
use rayon::prelude::*;

use crate::{CpuBuf, CpuElem};

/// `U[ξ][r][k] = (G·g·Gᵀ)[ξ]` of each kernel: `r` over the output channels and `k` over the
/// input channels, or, for the `adjoint` (the input gradient's convolution), `r` over the
/// input channels and `k` over the output channels with each kernel rotated by 180°. On all
/// workers: the kernels' tiles in parallel, then each position's block gathered from them in
/// parallel (one worker scattering each kernel's 36 values a block apart left the others
/// idle: 1.4 % of the ResNet training benchmark (W7) on one core).
pub(super) fn kernels<E: CpuElem>(weight: &[E], o: usize, c: usize, adjoint: bool) -> CpuBuf<E> {
    let (rows, cols) = if adjoint { (c, o) } else { (o, c) };
    let mut tiles = CpuBuf::<E>::scratch(o * c * POS);
    let weight = &weight[..o * c * 9];
    tiles[..]
        .par_chunks_mut(POS * KERNELS_PER_TASK)
        .zip(weight.par_chunks(9 * KERNELS_PER_TASK))
        .for_each(|(tiles, weight)| {
            for (tile, g) in tiles.chunks_exact_mut(POS).zip(weight.chunks_exact(9)) {
                let mut g: [E; 9] = *window(g);
                if adjoint {
                    g.reverse();
                }
                tile.copy_from_slice(&kernel_tile(g));
            }
        });
    let mut buf = CpuBuf::<E>::scratch(POS * rows * cols);
    let tiles = &tiles[..];
    buf[..].par_chunks_mut(rows * cols).enumerate().for_each(|(xi, u)| {
        for (r, row) in u.chunks_exact_mut(cols).enumerate() {
            for (k, value) in row.iter_mut().enumerate() {
                let (oc, ic) = if adjoint { (k, r) } else { (r, k) };
                *value = tiles[(oc * c + ic) * POS + xi];
            }
        }
    });
    buf
}

/// Kernels per task of [`kernels`]' first half.
const KERNELS_PER_TASK: usize = 64;

/// `G·[g0 g1 g2]` with `G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]`.
fn g_spread<E: CpuElem>([g0, g1, g2]: [E; 3]) -> [E; WIN] {
    let c = |v: f64| E::from_f64(v);
    let (even, odd) = (g0 + g2, g1);
    let (far, mid) = (c(1.0 / 24.0) * g0 + c(1.0 / 6.0) * g2, c(1.0 / 12.0) * g1);
    [
        c(0.25) * g0,
        c(-1.0 / 6.0) * (even + odd),
        c(-1.0 / 6.0) * (even - odd),
        far + mid,
        far - mid,
        g2,
    ]
}

/// `Gᵀ·v`, the adjoint of [`g_spread`].
fn g_gather<E: CpuElem>([v0, v1, v2, v3, v4, v5]: [E; WIN]) -> [E; 3] {
    let c = |v: f64| E::from_f64(v);
    let (near, far) = (v1 + v2, v3 + v4);
    [
        c(0.25) * v0 - c(1.0 / 6.0) * near + c(1.0 / 24.0) * far,
        c(1.0 / 6.0) * (v2 - v1) + c(1.0 / 12.0) * (v3 - v4),
        c(1.0 / 6.0) * (far - near) + v5,
    ]
}

/// `G·g·Gᵀ` of one 3×3 kernel (row-major).
pub(super) fn kernel_tile<E: CpuElem>(g: [E; 9]) -> [E; POS] {
    // `gg[b][i] = (G·g)[i][b]` (plain loops: `array::from_fn` of this size is not inlined).
    let mut gg = [[E::zero(); WIN]; 3];
    for (b, column) in gg.iter_mut().enumerate() {
        *column = g_spread([g[b], g[3 + b], g[6 + b]]);
    }
    let mut u = [E::zero(); POS];
    for (i, row) in u.chunks_exact_mut(WIN).enumerate() {
        row.copy_from_slice(&g_spread([gg[0][i], gg[1][i], gg[2][i]]));
    }
    u
}

/// `dW[o][c] = Gᵀ·dU[·][o][c]·G` for every kernel (the adjoint of [`kernel_tile`]).
pub(super) fn kernel_grads<E: CpuElem>(du: &[E], dweight: &mut [E], o: usize, c: usize) {
    for (oc_ic, dg) in dweight.chunks_exact_mut(9).enumerate() {
        let t: [E; POS] = std::array::from_fn(|xi| du[xi * o * c + oc_ic]);
        // `r[j][a] = (Gᵀ·dU)[a][j]`.
        let r: [[E; 3]; WIN] =
            std::array::from_fn(|j| g_gather(std::array::from_fn(|i| t[WIN * i + j])));
        for a in 0..3 {
            let row = g_gather(std::array::from_fn(|j| r[j][a]));
            dg[3 * a..3 * a + 3].copy_from_slice(&row);
        }
    }
}
