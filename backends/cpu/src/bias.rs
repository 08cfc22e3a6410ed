//! Bias add (`add_bias`) and its gradient reduction (`sum_rows`), on ndarray row views.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use shapeflow_core::Elem;

/// `y[r, c] += bias[c]`.
pub(crate) fn add_bias<E: Elem>(y: &mut [E], bias: &[E], rows: usize, cols: usize) {
    let Ok(mut view) = ArrayViewMut2::from_shape((rows, cols), y) else {
        debug_assert!(false, "add_bias: buffer is not {rows}×{cols}");
        return;
    };
    for mut row in view.axis_iter_mut(Axis(0)) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = *v + b;
        }
    }
}

/// `out[c] = Σ_r x[r, c]`.
pub(crate) fn sum_rows<E: Elem>(x: &[E], out: &mut [E], rows: usize, cols: usize) {
    let Ok(view) = ArrayView2::from_shape((rows, cols), x) else {
        debug_assert!(false, "sum_rows: buffer is not {rows}×{cols}");
        return;
    };
    out.iter_mut().for_each(|o| *o = E::zero());
    for row in view.axis_iter(Axis(0)) {
        for (o, &v) in out.iter_mut().zip(row.iter()) {
            *o = *o + v;
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
