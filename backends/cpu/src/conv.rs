//! im2col / col2im: convolution as one matrix product over the whole batch.
//!
//! `cols` is `[c·kh·kw, n·oh·ow]`: row `(c, i, j)` holds, for every sample and output position,
//! the input element under kernel tap `(i, j)` of channel `c`.

use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::Window2d;

use shapeflow_core::backend::{Conv, ConvGeom, ConvGrads};

use crate::{CpuBuf, CpuDevice, CpuElem};

impl<E: CpuElem> Conv for CpuDevice<E> {
    unsafe fn im2col_unchecked(x: &CpuBuf<E>, cols: &mut CpuBuf<E>, g: Window2d) {
        im2col(x, cols, g);
    }
    unsafe fn col2im_unchecked(cols: &CpuBuf<E>, dx: &mut CpuBuf<E>, g: Window2d) {
        col2im(cols, dx, g);
    }
    unsafe fn conv2d_unchecked(
        x: &CpuBuf<E>,
        weight: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        geom: ConvGeom,
    ) {
        match path(geom) {
            Path::Winograd => crate::winograd::forward(x, weight, y, geom),
            Path::Samples => crate::conv_samples::forward(x, weight, y, geom),
            Path::Batch => shapeflow_core::backend::conv2d_composed::<Self>(x, weight, y, geom),
        }
    }
    unsafe fn conv2d_backward_unchecked(
        x: &CpuBuf<E>,
        weight: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        grads: ConvGrads<'_, CpuBuf<E>>,
        geom: ConvGeom,
    ) {
        match path(geom) {
            Path::Winograd => crate::winograd::backward(x, weight, dy, grads, geom),
            Path::Samples => crate::conv_samples::backward(x, weight, dy, grads, geom),
            Path::Batch => shapeflow_core::backend::conv2d_backward_composed::<Self>(
                x, weight, dy, grads, geom,
            ),
        }
    }
}

/// How a convolution runs on the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// Winograd F(4×4, 3×3) (`winograd/`): 3×3, stride 1, padding 1, with at least
    /// [`WINOGRAD_MIN_TILES`] output tiles in the batch.
    Winograd,
    /// One im2col product per sample, spread over the workers (`conv_samples.rs`).
    Samples,
    /// One im2col product over the whole batch (`conv2d_composed`).
    Batch,
}

/// Winograd's kernel transforms (`c·o` of them, forward and backward, every step) pay only
/// over enough 4 × 4 output tiles: with fewer in the batch, the im2col product runs instead.
/// Measured on ResNet-18's training step at 224 × 224, batch 8 (2 vCPU AMD EPYC Zen 4): its
/// 7 × 7 stage (32 tiles, 512 × 512 kernels) took 151 ms per 3×3 layer by Winograd and 40 ms
/// as one product, the step 0.82 → 0.5 s; at 14 × 14 (128 tiles) the two tie; the MNIST
/// ResNet's 7 × 7 blocks at batch 64 (256 tiles, 32 × 32 kernels) stay faster by Winograd
/// (`torchvision-resnet`'s profile and W7; bench/NOTES.md).
pub(crate) const WINOGRAD_MIN_TILES: usize = 64;

/// Output planes of at most this many positions (14 × 14) run as one product over the whole
/// batch rather than one per sample, whose product would be too narrow (49 columns at 7 × 7)
/// for the matrix kernel.
pub(crate) const BATCH_PLANE: usize = 196;

/// The path for `geom`: Winograd where it suits and the batch has the tiles to pay for it; one
/// product per sample for large planes when the batch spreads over the workers; else one
/// product over the whole batch.
pub(crate) fn path(geom: ConvGeom) -> Path {
    let g = geom.window;
    let tiles = g.n * g.oh.div_ceil(4) * g.ow.div_ceil(4);
    if crate::winograd::suits(geom) && tiles >= WINOGRAD_MIN_TILES {
        Path::Winograd
    } else if g.oh * g.ow > BATCH_PLANE && crate::conv_samples::suits(geom) {
        Path::Samples
    } else {
        Path::Batch
    }
}

/// Input index of output position `o` for kernel offset `k`, or `None` in the padding.
#[inline]
fn source(o: usize, k: usize, stride: usize, pad: usize, dil: usize, size: usize) -> Option<usize> {
    let pos = (o * stride + k * dil).checked_sub(pad)?;
    (pos < size).then_some(pos)
}

/// Output positions `lo..hi` whose input `o·stride + k·dil − pad` lies in `0..size`.
#[inline]
fn valid(
    count: usize,
    k: usize,
    stride: usize,
    pad: usize,
    dil: usize,
    size: usize,
) -> (usize, usize) {
    let shift = k * dil;
    let lo = if pad > shift { (pad - shift).div_ceil(stride) } else { 0 };
    let hi =
        if size + pad > shift { ((size + pad - shift - 1) / stride + 1).min(count) } else { 0 };
    (lo.min(hi), hi)
}

/// Fills `cols` from `x`; rows are independent, so they are filled in parallel.
fn im2col<E: Elem>(x: &[E], cols: &mut [E], g: Window2d) {
    let (sample_in, per) = (g.c * g.h * g.w, g.col_cols());
    let row_len = g.n * per;
    if x.len() < g.n * sample_in || cols.len() < g.col_rows() * row_len || row_len == 0 {
        return;
    }
    cols[..g.col_rows() * row_len]
        .par_chunks_mut(row_len)
        .enumerate()
        .for_each(|(row, dst)| im2col_row(x, dst, g, row));
}

/// [`im2col`] on the calling thread.
pub(crate) fn im2col_seq<E: Elem>(x: &[E], cols: &mut [E], g: Window2d) {
    let row_len = g.n * g.col_cols();
    if x.len() < g.n * g.c * g.h * g.w || cols.len() < g.col_rows() * row_len || row_len == 0 {
        return;
    }
    for (row, dst) in cols[..g.col_rows() * row_len].chunks_mut(row_len).enumerate() {
        im2col_row(x, dst, g, row);
    }
}

/// Row `row` (channel `c`, kernel tap `(i, j)`) of the unfolded input, for every sample.
fn im2col_row<E: Elem>(x: &[E], dst: &mut [E], g: Window2d, row: usize) {
    let (plane, sample_in, per) = (g.h * g.w, g.c * g.h * g.w, g.col_cols());
    let (c, i, j) = (row / (g.kh * g.kw), (row / g.kw) % g.kh, row % g.kw);
    for n in 0..g.n {
        let xs = &x[n * sample_in + c * plane..n * sample_in + (c + 1) * plane];
        let out = &mut dst[n * per..(n + 1) * per];
        if same_size(g) {
            shifted_plane(xs, out, g, i, j);
            continue;
        }
        for oy in 0..g.oh {
            let line = &mut out[oy * g.ow..(oy + 1) * g.ow];
            match source(oy, i, g.sh, g.ph, g.dh, g.h) {
                None => line.iter_mut().for_each(|v| *v = E::zero()),
                Some(iy) => {
                    let src = &xs[iy * g.w..(iy + 1) * g.w];
                    let (lo, hi) = valid(g.ow, j, g.sw, g.pw, g.dw, g.w);
                    line[..lo].iter_mut().for_each(|v| *v = E::zero());
                    line[hi..].iter_mut().for_each(|v| *v = E::zero());
                    let first = lo * g.sw + j * g.dw - g.pw;
                    if g.sw == 1 {
                        line[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
                    } else {
                        for (t, v) in line[lo..hi].iter_mut().enumerate() {
                            *v = src[first + t * g.sw];
                        }
                    }
                }
            }
        }
    }
}

/// A stride-1, undilated window whose output is the input's size ("same" padding, the 3×3
/// convolutions of a ResNet): every row of the unfold is the input plane shifted.
fn same_size(g: Window2d) -> bool {
    g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.oh == g.h && g.ow == g.w
}

/// Tap `(i, j)` of a same-size window as a flat shift of the plane: output position `p` reads
/// input position `p + shift` for `p` in `valid` (the rows that stay inside the plane), except
/// in the columns `wrapped`, whose source lies beyond the left or right edge (it would wrap
/// into the neighbouring image row).
struct TapShift {
    shift: isize,
    valid: std::ops::Range<usize>,
    wrapped: std::ops::Range<usize>,
}

impl TapShift {
    fn new(g: Window2d, i: usize, j: usize) -> Self {
        let (w, plane) = (g.w as isize, (g.h * g.w) as isize);
        let (dy, dx) = (i as isize - g.ph as isize, j as isize - g.pw as isize);
        let shift = dy * w + dx;
        let hi = (plane - shift).clamp(0, plane) as usize;
        let lo = ((-shift).clamp(0, plane) as usize).min(hi);
        let reach = dx.unsigned_abs().min(g.w);
        let wrapped = if dx > 0 { (g.w - reach)..g.w } else { 0..reach };
        TapShift { shift, valid: lo..hi, wrapped }
    }

    /// The input positions the valid outputs read.
    fn source(&self) -> std::ops::Range<usize> {
        if self.valid.is_empty() {
            return 0..0;
        }
        let from = (self.valid.start as isize + self.shift) as usize;
        from..from + self.valid.len()
    }

    /// Sets the wrapped columns of every `w`-long line of `plane` to zero.
    fn zero_wrapped<E: Elem>(&self, plane: &mut [E], w: usize) {
        if !self.wrapped.is_empty() {
            for line in plane.chunks_mut(w) {
                line[self.wrapped.clone()].iter_mut().for_each(|v| *v = E::zero());
            }
        }
    }
}

/// `out[oy, ox] = xs[oy + i − ph, ox + j − pw]` (zero outside): one contiguous copy of the
/// plane shifted, then the wrapped columns set to zero. On 28-wide planes this replaces 28 short
/// copies per row.
fn shifted_plane<E: Elem>(xs: &[E], out: &mut [E], g: Window2d, i: usize, j: usize) {
    let tap = TapShift::new(g, i, j);
    let plane = g.h * g.w;
    out[..tap.valid.start].iter_mut().for_each(|v| *v = E::zero());
    out[tap.valid.end..plane].iter_mut().for_each(|v| *v = E::zero());
    out[tap.valid.clone()].copy_from_slice(&xs[tap.source()]);
    tap.zero_wrapped(&mut out[..plane], g.w);
}

/// The adjoint of [`im2col`]: `dx` is overwritten with the sums of `cols` over every window
/// position that read each input element. Channel planes are independent: parallel over them.
fn col2im<E: Elem>(cols: &[E], dx: &mut [E], g: Window2d) {
    let (plane, per) = (g.h * g.w, g.col_cols());
    let row_len = g.n * per;
    if dx.len() < g.n * g.c * plane || cols.len() < g.col_rows() * row_len || plane == 0 {
        return;
    }
    dx[..g.n * g.c * plane]
        .par_chunks_mut(plane)
        .enumerate()
        .for_each(|(nc, out)| col2im_plane(cols, out, g, nc));
}

/// [`col2im`] on the calling thread.
pub(crate) fn col2im_seq<E: Elem>(cols: &[E], dx: &mut [E], g: Window2d) {
    let plane = g.h * g.w;
    if dx.len() < g.n * g.c * plane || cols.len() < g.col_rows() * g.n * g.col_cols() || plane == 0
    {
        return;
    }
    for (nc, out) in dx[..g.n * g.c * plane].chunks_mut(plane).enumerate() {
        col2im_plane(cols, out, g, nc);
    }
}

/// [`col2im_seq`] that may overwrite `cols` (a caller's scratch): for a same-size stride-1
/// window each tap's row is added to the plane in one shifted, contiguous pass, after its
/// columns that would wrap into the neighbouring image row (padding positions) are zeroed.
pub(crate) fn col2im_seq_scratch<E: Elem>(cols: &mut [E], dx: &mut [E], g: Window2d) {
    let (plane, per) = (g.h * g.w, g.col_cols());
    let row_len = g.n * per;
    if !same_size(g) || dx.len() < g.n * g.c * plane || cols.len() < g.col_rows() * row_len {
        return col2im_seq(cols, dx, g);
    }
    for (nc, out) in dx[..g.n * g.c * plane].chunks_mut(plane).enumerate() {
        let (n, c) = (nc / g.c, nc % g.c);
        out.iter_mut().for_each(|v| *v = E::zero());
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = (c * g.kh + i) * g.kw + j;
                let src = &mut cols[row * row_len + n * per..row * row_len + (n + 1) * per];
                let tap = TapShift::new(g, i, j);
                tap.zero_wrapped(src, g.w);
                for (d, &v) in out[tap.source()].iter_mut().zip(&src[tap.valid.clone()]) {
                    *d = *d + v;
                }
            }
        }
    }
}

/// One `(sample, channel)` plane of [`col2im`].
fn col2im_plane<E: Elem>(cols: &[E], out: &mut [E], g: Window2d, nc: usize) {
    let (per, row_len) = (g.col_cols(), g.n * g.col_cols());
    let (n, c) = (nc / g.c, nc % g.c);
    out.iter_mut().for_each(|v| *v = E::zero());
    for i in 0..g.kh {
        for j in 0..g.kw {
            let row = (c * g.kh + i) * g.kw + j;
            let src = &cols[row * row_len + n * per..row * row_len + (n + 1) * per];
            for oy in 0..g.oh {
                let Some(iy) = source(oy, i, g.sh, g.ph, g.dh, g.h) else { continue };
                let dst = &mut out[iy * g.w..(iy + 1) * g.w];
                let (lo, hi) = valid(g.ow, j, g.sw, g.pw, g.dw, g.w);
                if lo >= hi {
                    continue;
                }
                let first = lo * g.sw + j * g.dw - g.pw;
                let line = &src[oy * g.ow + lo..oy * g.ow + hi];
                if g.sw == 1 {
                    for (d, &v) in dst[first..first + (hi - lo)].iter_mut().zip(line) {
                        *d = *d + v;
                    }
                } else {
                    for (t, &v) in line.iter().enumerate() {
                        let d = &mut dst[first + t * g.sw];
                        *d = *d + v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples of `c` channels on `h × w`, a `k × k` kernel to `o` channels.
    fn geom(
        n: usize,
        c: usize,
        o: usize,
        hw: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> ConvGeom {
        let window = Window2d::new([n, c, hw, hw], [k, k], [stride, stride], [pad, pad], [1, 1])
            .expect("a valid window");
        ConvGeom { window, out_channels: o }
    }

    #[test]
    fn each_geometry_takes_the_path_its_rule_names() {
        let threads = rayon::current_num_threads();
        // ResNet-18's 7 × 7 stage at batch 8: 32 tiles, too few for Winograd; one product.
        assert_eq!(path(geom(8, 512, 512, 7, 3, 1, 1)), Path::Batch);
        // Its 14 × 14 stage: 128 tiles.
        assert_eq!(path(geom(8, 256, 256, 14, 3, 1, 1)), Path::Winograd);
        // The MNIST ResNet's 7 × 7 blocks at batch 64: 256 tiles.
        assert_eq!(path(geom(64, 32, 32, 7, 3, 1, 1)), Path::Winograd);
        // Too few channels for Winograd's transforms.
        assert_ne!(path(geom(64, 1, 32, 28, 3, 1, 1)), Path::Winograd);
        // The 7 × 7 stride-2 stem at 224: a plane of 112 × 112 per sample.
        let stem = path(geom(8, 3, 64, 224, 7, 2, 3));
        assert_eq!(stem, if threads <= 8 { Path::Samples } else { Path::Batch });
        // A stride-2 1 × 1 projection onto a 7 × 7 plane: one product.
        assert_eq!(path(geom(8, 256, 512, 14, 1, 2, 0)), Path::Batch);
    }
}
