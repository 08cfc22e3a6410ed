//! im2col / col2im: convolution as matrix products. Samples are processed in parallel.

use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::Window2d;

/// Input index of output position `o` for kernel offset `k`, or `None` in the padding.
#[inline]
fn source(o: usize, k: usize, stride: usize, pad: usize, dil: usize, size: usize) -> Option<usize> {
    let pos = (o * stride + k * dil).checked_sub(pad)?;
    (pos < size).then_some(pos)
}

/// `cols[n, (c·kh + i)·kw + j, oy·ow + ox] = x[n, c, oy·sh − ph + i·dh, ox·sw − pw + j·dw]`.
pub(crate) fn im2col<E: Elem>(x: &[E], cols: &mut [E], g: Window2d) {
    let (plane, sample_in) = (g.h * g.w, g.c * g.h * g.w);
    let sample_cols = g.col_rows() * g.col_cols();
    if x.len() < g.n * sample_in || cols.len() < g.n * sample_cols || sample_cols == 0 {
        return;
    }
    cols[..g.n * sample_cols].par_chunks_mut(sample_cols).enumerate().for_each(|(n, out)| {
        let xs = &x[n * sample_in..(n + 1) * sample_in];
        for c in 0..g.c {
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let row = (c * g.kh + i) * g.kw + j;
                    let dst = &mut out[row * g.col_cols()..(row + 1) * g.col_cols()];
                    for oy in 0..g.oh {
                        let line = &mut dst[oy * g.ow..(oy + 1) * g.ow];
                        match source(oy, i, g.sh, g.ph, g.dh, g.h) {
                            None => line.iter_mut().for_each(|v| *v = E::zero()),
                            Some(iy) => {
                                let src = &xs[c * plane + iy * g.w..c * plane + (iy + 1) * g.w];
                                for (ox, v) in line.iter_mut().enumerate() {
                                    *v = source(ox, j, g.sw, g.pw, g.dw, g.w)
                                        .map_or(E::zero(), |ix| src[ix]);
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

/// The adjoint of [`im2col`]: `dx` is overwritten with the sums of `cols` over every window
/// position that read each input element.
pub(crate) fn col2im<E: Elem>(cols: &[E], dx: &mut [E], g: Window2d) {
    let (plane, sample_in) = (g.h * g.w, g.c * g.h * g.w);
    let sample_cols = g.col_rows() * g.col_cols();
    if dx.len() < g.n * sample_in || cols.len() < g.n * sample_cols || sample_in == 0 {
        return;
    }
    dx[..g.n * sample_in].par_chunks_mut(sample_in).enumerate().for_each(|(n, out)| {
        out.iter_mut().for_each(|v| *v = E::zero());
        let cs = &cols[n * sample_cols..(n + 1) * sample_cols];
        for c in 0..g.c {
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let row = (c * g.kh + i) * g.kw + j;
                    let src = &cs[row * g.col_cols()..(row + 1) * g.col_cols()];
                    for oy in 0..g.oh {
                        let Some(iy) = source(oy, i, g.sh, g.ph, g.dh, g.h) else { continue };
                        let dst = &mut out[c * plane + iy * g.w..c * plane + (iy + 1) * g.w];
                        for ox in 0..g.ow {
                            if let Some(ix) = source(ox, j, g.sw, g.pw, g.dw, g.w) {
                                dst[ix] = dst[ix] + src[oy * g.ow + ox];
                            }
                        }
                    }
                }
            }
        }
    });
}
