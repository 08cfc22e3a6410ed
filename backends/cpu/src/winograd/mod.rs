//! Winograd F(4×4, 3×3): a 3×3, stride-1, pad-1 convolution (a ResNet's "same" convolutions)
//! as 36 channel products over 6×6 input tiles, 4× fewer multiply-adds than the direct product
//! (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015; the matrices are
//! theirs, as in oneDNN's and cuDNN's F(4×4, 3×3)). Its constants (up to 8, down to 1/24)
//! round a little more than F(2×2, 3×3)'s did: the tests below hold `f32` results to 1e-5 of
//! the largest value of the im2col path's, `f64` to 1e-12.
//!
//! Every 4×4 block of output positions is one tile. With `V = Bᵀ·d·B` of the tile's 6×6 input
//! window `d`, `U = G·g·Gᵀ` of each 3×3 kernel `g` and `M = U ⊙ V` summed over the input
//! channels, the outputs are `Aᵀ·M·A`. Summing over channels is, for each of the 36 tile
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
//! the products are wide enough to run at the machine's rate while `V` and `M` stay in cache;
//! the backward pass takes each group through the input gradient and then the weight
//! gradient, so the group's `dy` comes from memory once for both (the ResNet training benchmark (W7) +7 % over two passes).
//!
//! Files: this one holds the plan (planes, scratch, shares, the products); `weights.rs` the
//! kernels' transform and its adjoint; `tiles.rs` the three tile transforms, computed on
//! [`lanes::Lanes`] (`lanes.rs`); `lines.rs` the split of rows into the phases they read.

use gemm::Parallelism;
use rayon::prelude::*;
use shapeflow_core::backend::{ConvGeom, ConvGrads, Gemm};

use crate::matmul::matmul_with;

mod lanes;
mod lines;
mod tiles;
mod weights;
use crate::{CpuBuf, CpuElem};
use lines::RUN;
use tiles::{gradient_tiles, input_tiles, output_tiles};
use weights::{kernel_grads, kernels};

/// Tiles per transformed group (the products' width): samples are grouped until they reach it.
const SPAN: usize = 112;

/// Outputs per tile side.
const TILE: usize = 4;
/// Inputs per tile side: the tile and the kernel's two extra rows and columns.
const WIN: usize = TILE + 2;
/// Positions `ξ` of a transformed tile.
const POS: usize = WIN * WIN;
/// Phases of a plane split by row and column modulo [`TILE`] (see [`Plane`]).
const PHASES: usize = TILE * TILE;

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

/// One channel plane and its tiles: `ty × tx` tiles of 4×4 outputs (the last row or column of
/// tiles partly outside a plane whose sides are not multiples of 4).
///
/// The scratch planes (the padded input, the outputs, the output gradient) are split into
/// [`PHASES`] phases by row and column modulo 4: value `(R, Q)` is element `Q / 4` of line
/// `R / 4` of phase `4·(R % 4) + Q % 4`, each line [`Plane::stride`] = `tx + 1` elements. Tile
/// `f = t·stride + col` then finds its window value `(i, j)`, padded position
/// `(4t + i, 4col + j)`, at element `f + (i / 4)·stride + j / 4` of phase
/// `4·(i % 4) + j % 4`: consecutive tiles at consecutive elements, so a chunk of tiles loads
/// each window value as one contiguous run and every transform is one long loop over the
/// plane's tiles. The last column of each line is a spare tile (tile `tx − 1`'s windows reach
/// one element into it); spare tiles' outputs are dropped and their output gradients are zero,
/// so they add nothing to the weight gradient.
#[derive(Clone, Copy, Debug)]
struct Plane {
    h: usize,
    w: usize,
    ty: usize,
    tx: usize,
}

impl Plane {
    fn new(h: usize, w: usize) -> Self {
        Plane { h, w, ty: h.div_ceil(TILE), tx: w.div_ceil(TILE) }
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

    /// Elements of one phase of the padded input: the windows of the last row of tiles reach
    /// one line further, and the last chunk [`LANES`] elements further.
    fn padded_phase(&self) -> usize {
        (self.ty + 1) * self.stride() + LANES
    }

    /// Elements of one phase of the outputs or the output gradient, with the last chunk's spare.
    fn out_phase(&self) -> usize {
        self.tiles() + LANES
    }

    /// Length of a (padded) row as [`deinterleave`] and [`interleave`] take it: the phases'
    /// columns in whole runs.
    fn line(&self) -> usize {
        (TILE * self.stride()).next_multiple_of(RUN)
    }

    /// Samples per transformed group: enough for [`SPAN`] tiles, at most `share`.
    fn group(&self, share: usize) -> usize {
        SPAN.div_ceil(self.tiles().max(1)).clamp(1, share.max(1))
    }

    /// The column of plane `nc`'s first tile in a position's block of `V` or `M` (`k`
    /// channels of `span` tiles): channel-major, a channel's samples side by side.
    fn first_tile(&self, nc: usize, k: usize, span: usize) -> usize {
        (nc % k) * span + (nc / k) * self.tiles()
    }

    /// The planes of `values` (`k` channels a sample) in the order of their tiles in `V` and
    /// `M` (channel-major), so a plane's whole-chunk stores past its last tile spill only into
    /// tiles stored later (the last plane's into the spare values of each position's block).
    fn in_tile_order(&self, values: usize, k: usize) -> impl Iterator<Item = usize> {
        let samples = values / self.size().max(1) / k.max(1);
        (0..k).flat_map(move |ch| (0..samples).map(move |sample| sample * k + ch))
    }
}

/// A worker's buffers for one convolution.
struct Scratch<E: CpuElem> {
    /// The zero-padded input plane split into phases (see [`Plane`]): input `(r, q)` is padded
    /// `(r + 1, q + 1)`. Only the interior is ever written, so the border stays zero.
    padded: CpuBuf<E>,
    /// The output gradient split into phases; positions outside the plane are never written
    /// and stay zero.
    grads: CpuBuf<E>,
    /// The outputs as the output transform leaves them, split into phases.
    outs: CpuBuf<E>,
    /// `V[ξ][channel][tile]`.
    v: CpuBuf<E>,
    /// `M[ξ][channel][tile]` (or `dM`), with one chunk of spare elements for the output
    /// transform's last reads.
    m: CpuBuf<E>,
    /// One padded input row (zero past the row's values) before [`deinterleave`].
    line_in: CpuBuf<E>,
    /// One output-gradient row (zero past the row's values) before [`deinterleave`].
    line_grad: CpuBuf<E>,
    /// One output row after [`interleave`].
    line_out: CpuBuf<E>,
}

impl<E: CpuElem> Scratch<E> {
    fn new(plane: Plane, k_in: usize, k_out: usize, span: usize) -> Self {
        Scratch {
            padded: CpuBuf::zeros(PHASES * plane.padded_phase()),
            grads: CpuBuf::zeros(PHASES * plane.out_phase()),
            outs: CpuBuf::scratch(PHASES * plane.out_phase()),
            v: CpuBuf::scratch(POS * position_stride(k_in, span)),
            m: CpuBuf::scratch(POS * position_stride(k_out, span) + LANES),
            line_in: CpuBuf::zeros(plane.line()),
            line_grad: CpuBuf::zeros(plane.line()),
            line_out: CpuBuf::scratch(plane.line()),
        }
    }
}

/// Elements from one position `ξ` to the next in `V` and `M` of `rows` channels over `span`
/// tiles: the `rows × span` product operand and a chunk of spare values (the last plane's
/// last whole-chunk store), then padding to an odd number of 64-byte lines for `f32`. The
/// transforms read or write all 36 positions of a chunk at once; blocks a multiple of 4 KiB
/// apart (or of 2 KiB: 28×28 planes, 32 channels, two samples) would put every stream in the
/// same few cache sets.
fn position_stride(rows: usize, span: usize) -> usize {
    const LINE: usize = 16;
    let whole = (rows * span + LANES).next_multiple_of(LINE);
    if (whole / LINE).is_multiple_of(2) { whole + LINE } else { whole }
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
    let adjoint = dx.is_some().then(|| kernels(weight, o, c, true));
    let (chunk, (sample_in, sample_out)) = (share(n), (c * plane.size(), o * plane.size()));
    // One share's weight-gradient sums and, with `dx`, its input gradient: group by group,
    // so each group's `dy` is read from memory once for both.
    let run = |k: usize, dx: Option<&mut [E]>| -> CpuBuf<E> {
        let samples = k * chunk..((k + 1) * chunk).min(n);
        let group = plane.group(samples.len());
        let wide = c.max(o);
        let mut s = Scratch::new(plane, wide, wide, group * plane.tiles());
        let mut du = CpuBuf::<E>::zeros(POS * o * c);
        let xs = &x[samples.start * sample_in..samples.end * sample_in];
        let dys = &dy[samples.start * sample_out..samples.end * sample_out];
        let mut dxs = dx.map(|d| d.chunks_mut(group * sample_in));
        for (x_g, dy_g) in xs.chunks(group * sample_in).zip(dys.chunks(group * sample_out)) {
            if let (Some(dx_g), Some(u)) = (dxs.as_mut().and_then(Iterator::next), &adjoint) {
                convolve_group(dy_g, u, dx_g, (o, c), plane, &mut s);
            }
            weight_grad_group(x_g, dy_g, (c, o), plane, &mut s, &mut du);
        }
        du
    };
    let partials: Vec<CpuBuf<E>> = match dx {
        Some(dx) => dx[..n * sample_in]
            .par_chunks_mut(chunk * sample_in)
            .enumerate()
            .map(|(k, d)| run(k, Some(d)))
            .collect(),
        None => (0..n.div_ceil(chunk)).into_par_iter().map(|k| run(k, None)).collect(),
    };
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
    if input.len() < n * sample_in || out.len() < n * sample_out || u.len() < POS * k_in * k_out {
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
                convolve_group(x_g, u, y_g, (k_in, k_out), plane, &mut s);
            }
        });
}

/// [`convolve`] of one group of samples (`x_g`, `k_in` channels each) into `y_g`.
fn convolve_group<E: CpuElem>(
    x_g: &[E],
    u: &[E],
    y_g: &mut [E],
    (k_in, k_out): (usize, usize),
    plane: Plane,
    s: &mut Scratch<E>,
) {
    let span = x_g.len() / (k_in * plane.size()) * plane.tiles();
    input_tiles(x_g, plane, k_in, span, s);
    let (v_at, m_at) = (position_stride(k_in, span), position_stride(k_out, span));
    let (v, m) = (&s.v[..POS * v_at], &mut s.m[..POS * m_at]);
    let products = u.chunks_exact(k_out * k_in).zip(v.chunks_exact(v_at));
    let shape = Gemm::new(k_out, k_in, span);
    for ((u_xi, v_xi), m_xi) in products.zip(m.chunks_exact_mut(m_at)) {
        let (v_xi, m_xi) = (&v_xi[..k_in * span], &mut m_xi[..k_out * span]);
        matmul_with(u_xi, v_xi, m_xi, shape, Parallelism::None);
    }
    output_tiles(y_g, plane, k_out, span, s);
}

/// One group's `dU += Σ dM · Vᵀ` (`x_g` of `c` channels, `dy_g` of `o`).
fn weight_grad_group<E: CpuElem>(
    x_g: &[E],
    dy_g: &[E],
    (c, o): (usize, usize),
    plane: Plane,
    s: &mut Scratch<E>,
    du: &mut [E],
) {
    let span = x_g.len() / (c * plane.size()) * plane.tiles();
    input_tiles(x_g, plane, c, span, s);
    gradient_tiles(dy_g, plane, o, span, s);
    let (v_at, m_at) = (position_stride(c, span), position_stride(o, span));
    let (v, m) = (&s.v[..POS * v_at], &s.m[..POS * m_at]);
    let products = m.chunks_exact(m_at).zip(v.chunks_exact(v_at));
    let shape = Gemm::new(o, span, c).transpose_b().accumulate();
    for ((m_xi, v_xi), du_xi) in products.zip(du.chunks_exact_mut(o * c)) {
        let (m_xi, v_xi) = (&m_xi[..o * span], &v_xi[..c * span]);
        matmul_with(m_xi, v_xi, du_xi, shape, Parallelism::None);
    }
}

/// Tiles transformed at once: each transform loads every window value of a chunk of this
/// many consecutive tiles as one [`Lanes`] (a vector register in `f32` on AVX2), computes on
/// whole chunks and stores each transformed value as one chunk.
const LANES: usize = 8;

/// The first `W` elements of `s` (a whole chunk or run): the scratch buffers carry enough
/// spare elements at the end for the last chunk of every transform.
#[inline(always)]
fn window<E, const W: usize>(s: &[E]) -> &[E; W] {
    s.first_chunk().expect("winograd scratch is sized for whole chunks")
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

    /// Forward, weight and input gradients against the im2col path, on planes whose sides are
    /// and are not multiples of the tile, one-row and one-column planes, with samples grouped
    /// and shares over the workers.
    fn matches_composed<E: CpuElem>(tol: f64) {
        for (n, c, o, h, w) in [
            (2, 8, 9, 6, 6),
            (3, 9, 8, 7, 5),
            (4, 8, 8, 1, 3),
            (5, 8, 8, 4, 1),
            (13, 8, 10, 3, 3),
            (3, 8, 9, 9, 13),
            (2, 12, 8, 14, 14),
        ] {
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
        let t: Vec<f64> = values(POS, 5);
        let u = weights::kernel_tile::<f64>(std::array::from_fn(|i| g[i]));
        let mut dg = [0.0; 9];
        kernel_grads(&t, &mut dg, 1, 1);
        let lhs: f64 = u.iter().zip(&t).map(|(a, b)| a * b).sum();
        let rhs: f64 = g.iter().zip(&dg).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
    }
}
