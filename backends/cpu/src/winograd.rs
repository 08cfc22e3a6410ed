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

    fn tiles(&self) -> usize {
        self.ty * self.tx
    }

    /// Samples per transformed group: enough for [`SPAN`] tiles, at most `share`.
    fn group(&self, share: usize) -> usize {
        SPAN.div_ceil(self.tiles().max(1)).clamp(1, share.max(1))
    }

    /// Columns of each parity half of the padded plane (`2·tx + 2` columns in all).
    fn half_width(&self) -> usize {
        self.tx + 1
    }

    /// Rows of the padded plane.
    fn padded_rows(&self) -> usize {
        2 * self.ty + 2
    }
}

/// A worker's buffers for one convolution.
struct Scratch<E: CpuElem> {
    /// The zero-padded input plane split by column parity: `even[r][j]` is padded column `2j`,
    /// `odd[r][j]` column `2j + 1`. Only the interior is ever written, so the border stays zero.
    even: CpuBuf<E>,
    odd: CpuBuf<E>,
    /// Four rows of `Bᵀ·d` for each parity, then (output and gradient transforms) the
    /// intermediate rows of `Aᵀ·M` or of `dY·Aᵀ`.
    rows: CpuBuf<E>,
    /// `V[ξ][channel][tile]`.
    v: CpuBuf<E>,
    /// `M[ξ][channel][tile]` (or `dM`).
    m: CpuBuf<E>,
}

impl<E: CpuElem> Scratch<E> {
    fn new(plane: Plane, k_in: usize, k_out: usize, span: usize) -> Self {
        let half = plane.padded_rows() * plane.half_width();
        Scratch {
            even: CpuBuf::zeros(half),
            odd: CpuBuf::zeros(half),
            rows: CpuBuf::zeros(8 * plane.half_width()),
            v: CpuBuf::scratch(16 * k_in * span),
            m: CpuBuf::scratch(16 * k_out * span),
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

/// The 16 blocks `[ξ][channel][tile]` of a transformed buffer, each `len` long, as
/// `blocks[i][j]` for `ξ = 4i + j`.
fn split16<E>(buf: &mut [E], len: usize) -> [[&mut [E]; 4]; 4] {
    blocks::<4, E>(buf, 4 * len).map(|quad| blocks(quad, len))
}

/// `Bᵀ·d` elementwise over four lines `d` (`Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`),
/// `out[i]` as long as the shortest line.
#[inline(always)]
fn b_t<E: CpuElem>(d: [&[E]; 4], out: [&mut [E]; 4]) {
    let [o0, o1, o2, o3] = out;
    let len = o0.len();
    let (o1, o2, o3) = (&mut o1[..len], &mut o2[..len], &mut o3[..len]);
    let [d0, d1, d2, d3] = d.map(|line| &line[..len]);
    for j in 0..len {
        o0[j] = d0[j] - d2[j];
        o1[j] = d1[j] + d2[j];
        o2[j] = d2[j] - d1[j];
        o3[j] = d1[j] - d3[j];
    }
}

/// `A·[d0 d1]` elementwise over two lines (`A = [1 0; 1 1; 1 −1; 0 −1]`): `out` is
/// `d0, d0 + d1, d0 − d1, −d1`, each as long as `out[0]`.
#[inline(always)]
fn a_spread<E: CpuElem>(d0: &[E], d1: &[E], out: [&mut [E]; 4]) {
    let [o0, o1, o2, o3] = out;
    let len = o0.len();
    let (o1, o2, o3) = (&mut o1[..len], &mut o2[..len], &mut o3[..len]);
    let (d0, d1) = (&d0[..len], &d1[..len]);
    for j in 0..len {
        let (a, b) = (d0[j], d1[j]);
        o0[j] = a;
        o1[j] = a + b;
        o2[j] = a - b;
        o3[j] = E::zero() - b;
    }
}

/// Writes sample plane `xs` into the interior of the zero-padded plane split by column
/// parity: padded row `r + 1` holds row `r`, padded column `q + 1` column `q`, so even
/// columns of `xs` land in `odd` and odd ones in `even`. The border is never written.
#[inline(always)]
fn pad_plane<E: CpuElem>(xs: &[E], plane: Plane, even: &mut [E], odd: &mut [E]) {
    let half = plane.half_width();
    for (r, line) in xs.chunks_exact(plane.w).enumerate() {
        let ev = &mut even[(r + 1) * half..][..half];
        let od = &mut odd[(r + 1) * half..][..half];
        for (j, pair) in line.chunks(2).enumerate() {
            od[j] = pair[0];
            if let Some(&b) = pair.get(1) {
                ev[j + 1] = b;
            }
        }
    }
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
    /// `V[ξ][ch][tile] = (Bᵀ·d·B)[ξ]` for every tile of the `span / tiles` samples in `x`, with
    /// `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`.
    fn input_tiles(x: &[E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (tiles, tx, half) = (plane.tiles(), plane.tx, plane.half_width());
        let (even, odd, rows) = (&mut s.even[..], &mut s.odd[..], &mut s.rows[..]);
        let mut v = split16(&mut s.v[..16 * k * span], k * span);
        for (nc, xs) in x.chunks_exact(plane.size()).enumerate() {
            let (sample, ch) = (nc / k, nc % k);
            pad_plane(xs, plane, even, odd);
            for ty in 0..plane.ty {
                // Bᵀ down the four rows of the window, for both parities.
                let [t_even, t_odd] = blocks(rows, 4 * half);
                for (src, t) in [(&*even, t_even), (&*odd, t_odd)] {
                    let r: [&[E]; 4] = std::array::from_fn(|i| &src[(2 * ty + i) * half..][..half]);
                    b_t(r, blocks(t, half));
                }
                // Then B across the four columns of each tile: columns 2j, 2j+1, 2j+2, 2j+3
                // are even[j], odd[j], even[j+1], odd[j+1].
                let at = ch * span + sample * tiles + ty * tx;
                for (i, quad) in v.iter_mut().enumerate() {
                    let e = &rows[i * half..][..half];
                    let o = &rows[(4 + i) * half..][..half];
                    let d = quad.each_mut().map(|d| &mut d[at..at + tx]);
                    b_t([e, o, &e[1..], &o[1..]], d);
                }
            }
        }
    }
}

wide! {
    /// `y[ch] = (Aᵀ·M·A)` of every tile of channel `ch`, with `Aᵀ = [1 1 1 0; 0 1 −1 −1]`;
    /// outputs of the tiles half outside an odd-sized plane are dropped.
    fn output_tiles(y: &mut [E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (tiles, tx, half, w) = (plane.tiles(), plane.tx, plane.half_width(), plane.w);
        let (m, rows) = (&s.m[..16 * k * span], &mut s.rows[..]);
        for (nc, ys) in y.chunks_exact_mut(plane.size()).enumerate() {
            let (sample, ch) = (nc / k, nc % k);
            for ty in 0..plane.ty {
                let at = ch * span + sample * tiles + ty * tx;
                // Aᵀ down the tile's rows, for each of its four columns `jj`.
                let (s0, s1) = rows.split_at_mut(4 * half);
                for jj in 0..4 {
                    let mi: [&[E]; 4] =
                        std::array::from_fn(|i| &m[(4 * i + jj) * k * span + at..][..tx]);
                    let (s0, s1) = (&mut s0[jj * half..][..tx], &mut s1[jj * half..][..tx]);
                    for j in 0..tx {
                        s0[j] = mi[0][j] + mi[1][j] + mi[2][j];
                        s1[j] = mi[1][j] - mi[2][j] - mi[3][j];
                    }
                }
                // Then A across: output columns 2j and 2j + 1.
                for a in 0..2 {
                    let r = 2 * ty + a;
                    if r >= plane.h {
                        break;
                    }
                    let sa: [&[E]; 4] = std::array::from_fn(|jj| &rows[(4 * a + jj) * half..][..tx]);
                    let (pairs, tail) = ys[r * w..(r + 1) * w].split_at_mut(w / 2 * 2);
                    let columns = sa[0].iter().zip(sa[1]).zip(sa[2].iter().zip(sa[3]));
                    for (pair, ((&c0, &c1), (&c2, &c3))) in pairs.chunks_exact_mut(2).zip(columns) {
                        pair[0] = c0 + c1 + c2;
                        pair[1] = c1 - c2 - c3;
                    }
                    if let Some(last) = tail.first_mut() {
                        let j = w / 2;
                        *last = sa[0][j] + sa[1][j] + sa[2][j];
                    }
                }
            }
        }
    }
}

wide! {
    /// `dM[ξ][ch][tile] = (A·dY·Aᵀ)[ξ]` of every tile's 2×2 output gradient `dY` (zero for
    /// the outputs outside an odd-sized plane).
    fn gradient_tiles(dy: &[E], plane: Plane, k: usize, span: usize, s: &mut Scratch<E>) {
        let (tiles, tx, half) = (plane.tiles(), plane.tx, plane.half_width());
        let (even, odd, rows) = (&mut s.even[..], &mut s.odd[..], &mut s.rows[..]);
        let [mut m0, mut m1, mut m2, mut m3] = split16(&mut s.m[..16 * k * span], k * span);
        for (nc, dys) in dy.chunks_exact(plane.size()).enumerate() {
            let (sample, ch) = (nc / k, nc % k);
            pad_plane(dys, plane, even, odd);
            for ty in 0..plane.ty {
                // dY·Aᵀ along each of the tile's two rows (padded rows 2ty + 1 and 2ty + 2;
                // output columns 2j and 2j + 1 are odd[j] and even[j + 1]).
                for a in 0..2 {
                    let row = (2 * ty + 1 + a) * half;
                    let (d0s, d1s) = (&odd[row..][..tx], &even[row + 1..][..tx]);
                    let u = blocks::<4, E>(&mut rows[4 * a * half..], half);
                    a_spread(d0s, d1s, u.map(|line| &mut line[..tx]));
                }
                // Then A down: dM rows are u₀, u₀ + u₁, u₀ − u₁, −u₁.
                let at = ch * span + sample * tiles + ty * tx;
                for jj in 0..4 {
                    let (r0, r1) = (&rows[jj * half..][..tx], &rows[(4 + jj) * half..][..tx]);
                    let d = [&mut m0[jj], &mut m1[jj], &mut m2[jj], &mut m3[jj]];
                    a_spread(r0, r1, d.map(|block| &mut block[at..at + tx]));
                }
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
