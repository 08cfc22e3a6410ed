//! Bias add (`add_bias`) and its gradient reduction (`sum_rows`).

use shapeflow_core::Elem;

/// Buffers at least this large are processed by every worker (the results do not depend on it:
/// each value is still computed in the same order).
const PARALLEL_MIN: usize = 1 << 15;

/// `y[r, c] += bias[c]`.
pub(crate) fn add_bias<E: Elem>(y: &mut [E], bias: &[E], rows: usize, cols: usize) {
    use rayon::prelude::*;
    if rows * cols >= PARALLEL_MIN && cols > 0 && y.len() >= rows * cols && bias.len() >= cols {
        let band = (PARALLEL_MIN / 4 / cols).max(1) * cols;
        y[..rows * cols].par_chunks_mut(band).for_each(|part| {
            add_bias_seq(part, bias, part.len() / cols, cols);
        });
        return;
    }
    add_bias_seq(y, bias, rows, cols);
}

fn add_bias_seq<E: Elem>(y: &mut [E], bias: &[E], rows: usize, cols: usize) {
    if cols == 0 || y.len() < rows * cols {
        debug_assert!(cols == 0 || rows == 0, "add_bias: buffer is not {rows}×{cols}");
        return;
    }
    for row in y[..rows * cols].chunks_exact_mut(cols) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = *v + b;
        }
    }
}

/// `out[c] = Σ_r x[r, c]`: columns split over the workers when large, each still summed over the
/// rows in order.
pub(crate) fn sum_rows<E: Elem>(x: &[E], out: &mut [E], rows: usize, cols: usize) {
    use rayon::prelude::*;
    const COLUMNS: usize = 64;
    if x.len() < rows * cols || out.len() < cols {
        debug_assert!(false, "sum_rows: buffers are not {rows}×{cols} and {cols}");
        return;
    }
    let (x, out) = (&x[..rows * cols], &mut out[..cols]);
    if rows * cols >= PARALLEL_MIN && cols > COLUMNS {
        out.par_chunks_mut(COLUMNS)
            .enumerate()
            .for_each(|(part, o)| sum_columns(x, o, cols, part * COLUMNS));
    } else {
        sum_columns(x, out, cols, 0);
    }
}

/// `o[j] = Σ_r x[r, c0 + j]` for the rows of `cols` values in `x`, summed in row order.
fn sum_columns<E: Elem>(x: &[E], o: &mut [E], cols: usize, c0: usize) {
    o.iter_mut().for_each(|v| *v = E::zero());
    let width = o.len();
    for row in x.chunks_exact(cols.max(1)) {
        for (v, &xv) in o.iter_mut().zip(&row[c0..c0 + width]) {
            *v = *v + xv;
        }
    }
}

/// `y[o, c, i] += bias[c]`.
pub(crate) fn add_channel_bias<E: Elem>(
    y: &mut [E],
    bias: &[E],
    outer: usize,
    channels: usize,
    inner: usize,
) {
    if y.len() < outer * channels * inner || bias.len() < channels || inner == 0 {
        return;
    }
    for (k, plane) in y[..outer * channels * inner].chunks_exact_mut(inner).enumerate() {
        let b = bias[k % channels];
        plane.iter_mut().for_each(|v| *v = *v + b);
    }
}

/// `out[c] = Σ_{o, i} x[o, c, i]`.
pub(crate) fn sum_channels<E: Elem>(
    x: &[E],
    out: &mut [E],
    outer: usize,
    channels: usize,
    inner: usize,
) {
    out.iter_mut().for_each(|o| *o = E::zero());
    if x.len() < outer * channels * inner || out.len() < channels || inner == 0 {
        return;
    }
    for (k, plane) in x[..outer * channels * inner].chunks_exact(inner).enumerate() {
        out[k % channels] = out[k % channels] + crate::elementwise::sum8(plane);
    }
}
