//! Winograd F(2×2, 3×3): a 3×3, stride-1, pad-1 convolution (a ResNet's "same" convolutions)
//! as 16 channel products over 4×4 input tiles, 2.25× fewer multiply-adds than the direct
//! product (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015).
//!
//! Every 2×2 block of output positions is one tile. With `V = Bᵀ·d·B` of the tile's 4×4 input
//! window `d`, `U = G·g·Gᵀ` of each 3×3 kernel `g` and `M = U ⊙ V` summed over the input
//! channels, the outputs are `Aᵀ·M·A`. Summing over channels is, for each of the 16 tile
//! positions `ξ`, one matrix product `M[ξ] (o × tiles) = U[ξ] (o × c) · V[ξ] (c × tiles)`.
//!
//! The input gradient is the convolution of `dy` with the kernels rotated by 180° and their
//! channel axes swapped (the adjoint of a same-size 3×3 convolution), run through the same
//! forward path. The weight gradient is `dU[ξ] = Σ_tiles dM[ξ] · V[ξ]ᵀ` with `dM = A·dY·Aᵀ`,
//! then `dg = Gᵀ·dU·G`.
//!
//! As in `conv_samples`, samples are split over the workers in fixed contiguous shares and the
//! shares' weight-gradient sums are added in share order: the result does not depend on
//! scheduling. Inside a share, samples are transformed in groups of at least [`SPAN`] tiles so
//! the products are wide enough to run at the machine's rate while `V` and `M` stay in cache.

use gemm::Parallelism;
use rayon::prelude::*;
use shapeflow_core::backend::{ConvGeom, ConvGrads, Gemm};

use crate::matmul::matmul_with;
use crate::{CpuBuf, CpuElem};

/// Tiles per transformed group (the products' width): samples are grouped until they reach it.
const SPAN: usize = 192;

/// Whether `geom` is a 3×3, stride-1, undilated, pad-1 convolution with enough channels for
/// the transforms to pay, and a batch that gives every worker a share of samples.
pub(crate) fn suits(geom: ConvGeom) -> bool {
    let g = geom.window;
    let shape = g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1;
    shape
        && g.ph == 1
        && g.pw == 1
        && g.oh == g.h
        && g.ow == g.w
        && g.h > 0
        && g.w > 0
        && g.c >= 8
        && geom.out_channels >= 8
        && crate::conv_samples::suits(geom)
}

/// One channel plane and its tiles: `ty × tx` tiles of 2×2 outputs (the last row or column of
/// tiles half outside an odd-sized plane).
///
/// The transformed buffers give each row of tiles [`Plane::stride`] = `tx + 1` columns: the
/// last one is a spare tile, so that tile `f` of a plane reads and writes its padded lines at
/// `2f` and every transform is one long loop over the plane's tiles instead of `ty` short
/// ones. Spare tiles read the next line's first columns; their outputs are dropped and their
/// output gradients are zero, so they add nothing to the weight gradient.
#[derive(Clone, Copy, Debug)]
struct Plane {
    h: usize,
    w: usize,
    ty: usize,
    tx: usize,
}

impl Plane {
    fn new(h: usize, w: usize) -> Self {
        Plane { h, w, ty: h.div_ceil(2), tx: w.div_ceil(2) }
    }

    fn size(&self) -> usize {
        self.h * self.w
    }

    /// Tiles per row of tiles in the transformed buffers, the spare one included.
    fn stride(&self) -> usize {
        self.tx + 1
    }

    /// Transformed columns per plane: `ty` rows of [`Plane::stride`] tiles.
    fn tiles(&self) -> usize {
        self.ty * self.stride()
    }

    /// Length of one padded line: two columns per tile.
    fn line(&self) -> usize {
        2 * self.stride()
    }

    /// Samples per transformed group: enough for [`SPAN`] tiles, at most `share`.
    fn group(&self, share: usize) -> usize {
        SPAN.div_ceil(self.tiles().max(1)).clamp(1, share.max(1))
    }
}

/// A worker's buffers for one convolution.
struct Scratch<E: CpuElem> {
    /// The zero-padded input plane split by row parity: padded row `2t + p` (input row
    /// `2t + p − 1`) is line `t` of half `p`, padded column `q` (input column `q − 1`) its
    /// element `q`; spare elements at the end for the last chunk's reads. Only the interior is
    /// ever written, so the border stays zero.
    padded: CpuBuf<E>,
    /// The output gradient split by row parity: row `2t + a` is line `t` of half `a`; rows and
    /// columns outside the plane are never written and stay zero (spare elements at the end,
    /// as in `padded`).
    grads: CpuBuf<E>,
    /// The output rows as the output transform leaves them, split like `grads`.
    outs: CpuBuf<E>,
    /// `V[ξ][channel][tile]`.
    v: CpuBuf<E>,
    /// `M[ξ][channel][tile]` (or `dM`), with one chunk of spare elements for the output
    /// transform's last reads.
    m: CpuBuf<E>,
}

impl<E: CpuElem> Scratch<E> {
    fn new(plane: Plane, k_in: usize, k_out: usize, span: usize) -> Self {
        let halves = 2 * plane.ty * plane.line();
        Scratch {
            padded: CpuBuf::zeros(halves + 2 * plane.line() + 2 * LANES + 2),
            grads: CpuBuf::zeros(halves + 2 * LANES),
            outs: CpuBuf::scratch(halves),
            v: CpuBuf::scratch(16 * k_in * span),
            m: CpuBuf::scratch(16 * k_out * span + LANES),
        }
    }
}

/// Samples per share: one share per worker.
fn share(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// `y = W ⋆ x` for a convolution that [`suits`].
pub(crate) fn forward<E: CpuElem>(x: &[E], weight: &[E], y: &mut [E], geom: ConvGeom) {
    let (g, o) = (geom.window, geom.out_channels);
    let plane = Plane::new(g.h, g.w);
    if weight.len() < o * g.c * 9 {
        return;
    }
    let u = kernels(weight, o, g.c, false);
    convolve(x, &u, y, (g.c, o), plane, g.n);
}

/// The weight gradient and, when asked, the input gradient of a convolution that [`suits`].
pub(crate) fn backward<E: CpuElem>(
    x: &[E],
    weight: &[E],
    dy: &[E],
    grads: ConvGrads<'_, CpuBuf<E>>,
    geom: ConvGeom,
) {
    let (g, o) = (geom.window, geom.out_channels);
    let plane = Plane::new(g.h, g.w);
    let (c, n) = (g.c, g.n);
    let ConvGrads { dweight, dx } = grads;
    if x.len() < n * c * plane.size()
        || dy.len() < n * o * plane.size()
        || weight.len() < o * c * 9
        || dweight.len() < o * c * 9
    {
        return;
    }
    if let Some(dx) = dx {
        let adjoint = kernels(weight, o, c, true);
        convolve(dy, &adjoint, dx, (o, c), plane, n);
    }
    let chunk = share(n);
    let partials: Vec<CpuBuf<E>> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|k| weight_grad_share(x, dy, (c, o), plane, k * chunk..((k + 1) * chunk).min(n)))
        .collect();
    let du = partials.into_iter().reduce(|mut du, part| {
        du.iter_mut().zip(part.iter()).for_each(|(d, &v)| *d = *d + v);
        du
    });
    if let Some(du) = du {
        kernel_grads(&du, &mut dweight[..o * c * 9], o, c);
    }
}

/// `out = U ⋆ input` over `n` samples of `k_in` channels, giving `k_out` channels.
fn convolve<E: CpuElem>(
    input: &[E],
    u: &[E],
    out: &mut [E],
    (k_in, k_out): (usize, usize),
    plane: Plane,
    n: usize,
) {
    let (sample_in, sample_out) = (k_in * plane.size(), k_out * plane.size());
    if input.len() < n * sample_in || out.len() < n * sample_out || u.len() < 16 * k_in * k_out {
        return;
    }
    let chunk = share(n);
    out[..n * sample_out]
        .par_chunks_mut(chunk * sample_out)
        .zip(input[..n * sample_in].par_chunks(chunk * sample_in))
        .for_each(|(ys, xs)| {
            let group = plane.group(chunk);
            let mut s = Scratch::new(plane, k_in, k_out, group * plane.tiles());
            for (y_g, x_g) in ys.chunks_mut(group * sample_out).zip(xs.chunks(group * sample_in)) {
                let span = x_g.len() / sample_in * plane.tiles();
                input_tiles(x_g, plane, k_in, span, &mut s);
                let (v, m) = (&s.v[..16 * k_in * span], &mut s.m[..16 * k_out * span]);
                let products = u.chunks_exact(k_out * k_in).zip(v.chunks_exact(k_in * span));
                let shape = Gemm::new(k_out, k_in, span);
                for ((u_xi, v_xi), m_xi) in products.zip(m.chunks_exact_mut(k_out * span)) {
                    matmul_with(u_xi, v_xi, m_xi, shape, Parallelism::None);
                }
                output_tiles(y_g, plane, k_out, span, &mut s);
            }
        });
}

/// One share's `dU = Σ dM · Vᵀ` over `samples`.
fn weight_grad_share<E: CpuElem>(
    x: &[E],
    dy: &[E],
    (c, o): (usize, usize),
    plane: Plane,
    samples: std::ops::Range<usize>,
) -> CpuBuf<E> {
    let (sample_in, sample_out) = (c * plane.size(), o * plane.size());
    let group = plane.group(samples.len());
    let mut du = CpuBuf::<E>::zeros(16 * o * c);
    let mut s = Scratch::new(plane, c, o, group * plane.tiles());
    let xs = &x[samples.start * sample_in..samples.end * sample_in];
    let dys = &dy[samples.start * sample_out..samples.end * sample_out];
    for (x_g, dy_g) in xs.chunks(group * sample_in).zip(dys.chunks(group * sample_out)) {
        let span = x_g.len() / sample_in * plane.tiles();
        input_tiles(x_g, plane, c, span, &mut s);
        gradient_tiles(dy_g, plane, o, span, &mut s);
        let (v, m) = (&s.v[..16 * c * span], &s.m[..16 * o * span]);
        let products = m.chunks_exact(o * span).zip(v.chunks_exact(c * span));
        let shape = Gemm::new(o, span, c).transpose_b().accumulate();
        for ((m_xi, v_xi), du_xi) in products.zip(du.chunks_exact_mut(o * c)) {
            matmul_with(m_xi, v_xi, du_xi, shape, Parallelism::None);
        }
    }
    du
}

/// `U[ξ][r][k] = (G·g·Gᵀ)[ξ]` of each kernel: `r` over the output channels and `k` over the
/// input channels, or, for the `adjoint` (the input gradient's convolution), `r` over the
/// input channels and `k` over the output channels with each kernel rotated by 180°.
fn kernels<E: CpuElem>(weight: &[E], o: usize, c: usize, adjoint: bool) -> CpuBuf<E> {
    let (rows, cols) = if adjoint { (c, o) } else { (o, c) };
    let mut u = CpuBuf::<E>::scratch(16 * rows * cols);
    for (oc_ic, g) in weight[..o * c * 9].chunks_exact(9).enumerate() {
        let (oc, ic) = (oc_ic / c, oc_ic % c);
        let g: [E; 9] = std::array::from_fn(|t| if adjoint { g[8 - t] } else { g[t] });
        let (r, k) = if adjoint { (ic, oc) } else { (oc, ic) };
        for (xi, value) in kernel_tile(g).into_iter().enumerate() {
            u[(xi * rows + r) * cols + k] = value;
        }
    }
    u
}

/// `G·g·Gᵀ` of one 3×3 kernel (row-major), with `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]`.
fn kernel_tile<E: CpuElem>(g: [E; 9]) -> [E; 16] {
    let half = E::from_f64(0.5);
    let spread = |a: E, b: E, c: E| [a, half * (a + b + c), half * (a - b + c), c];
    // `gg[b][i] = (G·g)[i][b]`.
    let gg: [[E; 4]; 3] = std::array::from_fn(|b| spread(g[b], g[3 + b], g[6 + b]));
    std::array::from_fn(|xi| spread(gg[0][xi / 4], gg[1][xi / 4], gg[2][xi / 4])[xi % 4])
}

/// `dW[o][c] = Gᵀ·dU[·][o][c]·G` for every kernel (the adjoint of [`kernel_tile`]).
fn kernel_grads<E: CpuElem>(du: &[E], dweight: &mut [E], o: usize, c: usize) {
    let half = E::from_f64(0.5);
    let gather = |v: [E; 4]| {
        [v[0] + half * (v[1] + v[2]), half * (v[1] - v[2]), half * (v[1] + v[2]) + v[3]]
    };
    for (oc_ic, dg) in dweight.chunks_exact_mut(9).enumerate() {
        let t: [E; 16] = std::array::from_fn(|xi| du[xi * o * c + oc_ic]);
        // `r[j][a] = (Gᵀ·dU)[a][j]`.
        let r: [[E; 3]; 4] = std::array::from_fn(|j| gather([t[j], t[4 + j], t[8 + j], t[12 + j]]));
        for a in 0..3 {
            let row = gather([r[0][a], r[1][a], r[2][a], r[3][a]]);
            dg[3 * a..3 * a + 3].copy_from_slice(&row);
        }
    }
}

/// The first `N` consecutive blocks of `buf`, each `len` long.
fn blocks<const N: usize, E>(buf: &mut [E], len: usize) -> [&mut [E]; N] {
    let mut rest = buf;
    std::array::from_fn(|_| {
        let (block, tail) = std::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        block
    })
}

/// The 16 blocks `[ξ][channel][tile]` of a transformed buffer, each `block` long, cut to
/// the `len` tiles from `at` of each.
fn tile_blocks<E>(buf: &mut [E], block: usize, at: usize, len: usize) -> [&mut [E]; 16] {
    blocks::<16, E>(buf, block).map(|b| &mut b[at..at + len])
}

/// Tiles transformed at once: each transform computes a chunk of this many tiles into a
/// local block (which the compiler knows aliases nothing, so the chunk's loop vectorises
/// across the tiles) and then stores it.
const LANES: usize = 8;

/// The first `W` elements of `s`: the scratch buffers carry enough spare elements at the end
/// for the last chunk of every transform.
#[inline(always)]
fn window<E, const W: usize>(s: &[E]) -> &[E; W] {
    s.first_chunk().expect("winograd scratch is sized for whole chunks")
}

/// Stores row `r` of `block` at `out[r][from..]`, as far as `out[r]` reaches.
#[inline(always)]
fn store<E: CpuElem, const N: usize, const W: usize>(
    out: &mut [&mut [E]; N],
    from: usize,
    block: &[[E; W]; N],
) {
    for (o, b) in out.iter_mut().zip(block) {
        match o.get_mut(from..from + W) {
            // A whole chunk: a copy of known length, which compiles to a few vector moves.
            Some(whole) => whole.copy_from_slice(b),
            None => {
                let len = o.len().saturating_sub(from).min(W);
                o[from..from + len].copy_from_slice(&b[..len]);
            }
        }
    }
}

/// Copies a plane's row (a few dozen values) in whole chunks of [`LANES`], which compile to
/// vector moves, instead of a call to `memcpy` per row.
#[inline(always)]
fn copy_row<E: Copy>(dst: &mut [E], src: &[E]) {
    let (mut d, mut s) = (dst.chunks_exact_mut(LANES), src.chunks_exact(LANES));
    for (d, s) in (&mut d).zip(&mut s) {
        d.copy_from_slice(s);
    }
    for (d, s) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d = *s;
    }
}

/// `Bᵀ·[d0 d1 d2 d3]` with `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`.
#[inline(always)]
fn b_t<E: CpuElem>([d0, d1, d2, d3]: [E; 4]) -> [E; 4] {
    [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
}

/// `Aᵀ·[m0 m1 m2 m3]` with `Aᵀ = [1 1 1 0; 0 1 −1 −1]`.
#[inline(always)]
fn a_t<E: CpuElem>([m0, m1, m2, m3]: [E; 4]) -> [E; 2] {
    [m0 + m1 + m2, m1 - m2 - m3]
}

/// `A·[d0 d1]` with `A = [1 0; 1 1; 1 −1; 0 −1]`.
#[inline(always)]
fn a_spread<E: CpuElem>([d0, d1]: [E; 2]) -> [E; 4] {
    [d0, d0 + d1, d0 - d1, E::zero() - d1]
}

/// Defines `$name` with its body compiled twice: for baseline x86-64 and, picked at run time
/// where the machine has them, for AVX2 and FMA (the transforms are long loops of adds that
/// the baseline's four-lane SSE runs at half the width).
macro_rules! wide {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        fn $name<E: CpuElem>($($arg: $ty),*) {
            #[inline(always)]
            fn body<E: CpuElem>($($arg: $ty),*) $body

            /// # Safety
            /// The CPU must support AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<E: CpuElem>($($arg: $ty),*) {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if crate::f32_view::avx2_fma() {
                // SAFETY: AVX2 and FMA are available (checked just above).
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

wide! {
    /// `V[ξ][ch][tile] = (Bᵀ·d·B)[ξ]` for every tile of the `span / tiles` samples in `x`.
    fn input_tiles(x: &[E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (n, line, w, stride) = (plane.tiles(), plane.line(), plane.w, plane.stride());
        let half = (plane.ty + 1) * line;
        let (padded, vs) = (&mut s.padded[..], &mut s.v[..]);
        for (nc, xs) in x.chunks_exact(plane.size()).enumerate() {
            let (sample, ch) = (nc / k, nc % k);
            for (r, row) in xs.chunks_exact(w).enumerate() {
                let padded_row = r + 1;
                let (p, t) = (padded_row % 2, padded_row / 2);
                copy_row(&mut padded[p * half + t * line + 1..][..w], row);
            }
            let padded = &*padded;
            let mut v = tile_blocks(vs, k * span, ch * span + sample * n, n);
            for f0 in (0..n).step_by(LANES) {
                // Padded rows 2ty, 2ty + 1, 2ty + 2 and 2ty + 3 of the chunk's tiles.
                let rows: [&[E; 2 * LANES + 2]; 4] = std::array::from_fn(|i| {
                    window(&padded[(i % 2) * half + 2 * (f0 + i / 2 * stride)..])
                });
                let mut block = [[E::zero(); LANES]; 16];
                for l in 0..LANES {
                    // B across each row's four columns, then Bᵀ down the four results.
                    let d = rows.map(|r| b_t([r[2 * l], r[2 * l + 1], r[2 * l + 2], r[2 * l + 3]]));
                    for j in 0..4 {
                        let c = b_t([d[0][j], d[1][j], d[2][j], d[3][j]]);
                        for (i, value) in c.into_iter().enumerate() {
                            block[4 * i + j][l] = value;
                        }
                    }
                }
                store(&mut v, f0, &block);
            }
        }
    }
}

wide! {
    /// `y[ch] = (Aᵀ·M·A)` of every tile of channel `ch`; the outputs of spare tiles and of the
    /// tiles half outside an odd-sized plane are dropped.
    fn output_tiles(y: &mut [E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (n, line, w) = (plane.tiles(), plane.line(), plane.w);
        let m = &s.m[..];
        let (out0, out1) = s.outs[..2 * plane.ty * line].split_at_mut(2 * n);
        let mut outs = [out0, out1];
        for (nc, ys) in y.chunks_exact_mut(plane.size()).enumerate() {
            let (sample, ch) = (nc / k, nc % k);
            let at = ch * span + sample * n;
            for f0 in (0..n).step_by(LANES) {
                let mi: [&[E; LANES]; 16] =
                    std::array::from_fn(|xi| window(&m[xi * k * span + at + f0..]));
                let mut block = [[E::zero(); 2 * LANES]; 2];
                for l in 0..LANES {
                    // A across each row of M, then Aᵀ down the two columns.
                    let r: [[E; 2]; 4] = std::array::from_fn(|i| {
                        a_t([mi[4 * i][l], mi[4 * i + 1][l], mi[4 * i + 2][l], mi[4 * i + 3][l]])
                    });
                    for b in 0..2 {
                        let [y0, y1] = a_t([r[0][b], r[1][b], r[2][b], r[3][b]]);
                        block[0][2 * l + b] = y0;
                        block[1][2 * l + b] = y1;
                    }
                }
                store(&mut outs, 2 * f0, &block);
            }
            for (r, row) in ys.chunks_exact_mut(w).enumerate() {
                copy_row(row, &outs[r % 2][r / 2 * line..][..w]);
            }
        }
    }
}

wide! {
    /// `dM[ξ][ch][tile] = (A·dY·Aᵀ)[ξ]` of every tile's 2×2 output gradient `dY` (zero for
    /// spare tiles and the outputs outside an odd-sized plane).
    fn gradient_tiles(dy: &[E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (n, line, w) = (plane.tiles(), plane.line(), plane.w);
        let (grads, ms) = (&mut s.grads[..], &mut s.m[..]);
        for (nc, dys) in dy.chunks_exact(plane.size()).enumerate() {
            let (sample, ch) = (nc / k, nc % k);
            for (r, row) in dys.chunks_exact(w).enumerate() {
                copy_row(&mut grads[(r % 2) * 2 * n + r / 2 * line..][..w], row);
            }
            let grads = &*grads;
            let mut dm = tile_blocks(ms, k * span, ch * span + sample * n, n);
            for f0 in (0..n).step_by(LANES) {
                let g: [&[E; 2 * LANES]; 2] =
                    std::array::from_fn(|a| window(&grads[a * 2 * n + 2 * f0..]));
                let mut block = [[E::zero(); LANES]; 16];
                for l in 0..LANES {
                    // dY·Aᵀ along the tile's two rows, then A down the four columns.
                    let u = g.map(|row| a_spread([row[2 * l], row[2 * l + 1]]));
                    for j in 0..4 {
                        for (i, value) in a_spread([u[0][j], u[1][j]]).into_iter().enumerate() {
                            block[4 * i + j][l] = value;
                        }
                    }
                }
                store(&mut dm, f0, &block);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shapeflow_core::backend::{Window2d, conv2d_backward_composed, conv2d_composed};

    use crate::CpuDevice;

    fn values<E: CpuElem>(len: usize, seed: u64) -> Vec<E> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                E::from_f64(((state >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0)
            })
            .collect()
    }

    fn close<E: CpuElem>(what: &str, got: &[E], want: &[E], tol: f64) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        let scale = want.iter().map(|v| v.as_f64().abs()).fold(1.0, f64::max);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let err = (g.as_f64() - w.as_f64()).abs() / scale;
            assert!(err <= tol, "{what}[{i}]: {} vs {} (relative {err:e})", g.as_f64(), w.as_f64());
        }
    }

    /// Forward, weight and input gradients against the im2col path, on even, odd, one-row
    /// and one-column planes, with samples grouped and shares over the workers.
    fn matches_composed<E: CpuElem>(tol: f64) {
        for (n, c, o, h, w) in
            [(2, 8, 9, 6, 6), (3, 9, 8, 7, 5), (4, 8, 8, 1, 3), (5, 8, 8, 4, 1), (13, 8, 10, 3, 3)]
        {
            let window = Window2d::new([n, c, h, w], [3, 3], [1, 1], [1, 1], [1, 1]).unwrap();
            let geom = ConvGeom { window, out_channels: o };
            let x = CpuBuf::from_slice(&values::<E>(n * c * h * w, 1));
            let weight = CpuBuf::from_slice(&values::<E>(o * c * 9, 2));
            let dy = CpuBuf::from_slice(&values::<E>(n * o * h * w, 3));
            let label = format!("{n}×{c}→{o} on {h}×{w}");

            let mut want = CpuBuf::<E>::zeros(n * o * h * w);
            conv2d_composed::<CpuDevice<E>>(&x, &weight, &mut want, geom);
            let mut got = CpuBuf::<E>::zeros(n * o * h * w);
            forward(&x, &weight, &mut got, geom);
            close(&format!("y, {label}"), &got, &want, tol);

            let (mut dw_want, mut dx_want) =
                (CpuBuf::<E>::zeros(o * c * 9), CpuBuf::<E>::zeros(n * c * h * w));
            let grads = ConvGrads { dweight: &mut dw_want, dx: Some(&mut dx_want) };
            conv2d_backward_composed::<CpuDevice<E>>(&x, &weight, &dy, grads, geom);
            let (mut dw, mut dx) =
                (CpuBuf::<E>::zeros(o * c * 9), CpuBuf::<E>::zeros(n * c * h * w));
            backward(&x, &weight, &dy, ConvGrads { dweight: &mut dw, dx: Some(&mut dx) }, geom);
            close(&format!("dW, {label}"), &dw, &dw_want, tol);
            close(&format!("dx, {label}"), &dx, &dx_want, tol);
            let mut dw_only = CpuBuf::<E>::zeros(o * c * 9);
            backward(&x, &weight, &dy, ConvGrads { dweight: &mut dw_only, dx: None }, geom);
            close(&format!("dW without dx, {label}"), &dw_only, &dw_want, tol);
        }
    }

    #[test]
    fn matches_composed_defaults_in_f64() {
        matches_composed::<f64>(1e-12);
    }

    #[test]
    fn matches_composed_defaults_in_f32() {
        matches_composed::<f32>(1e-5);
    }

    #[test]
    fn kernel_grads_is_the_adjoint_of_kernel_tile() {
        // ⟨G·g·Gᵀ, t⟩ = ⟨g, Gᵀ·t·G⟩ for every g and t.
        let g: Vec<f64> = values(9, 4);
        let t: Vec<f64> = values(16, 5);
        let u = kernel_tile::<f64>(std::array::from_fn(|i| g[i]));
        let mut dg = [0.0; 9];
        kernel_grads(&t, &mut dg, 1, 1);
        let lhs: f64 = u.iter().zip(&t).map(|(a, b)| a * b).sum();
        let rhs: f64 = g.iter().zip(&dg).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
    }
}
