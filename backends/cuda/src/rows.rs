//! `impl Rows for Cuda`, kernels in `kernels/rows.cu`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use cudarc::driver::CudaSlice;
use shapeflow_core::backend::Rows;

impl Rows for Cuda {
    unsafe fn softmax_rows_unchecked(x: &CudaBuf, y: &mut CudaBuf, rows: usize, cols: usize) {
        let rt = y.rt.clone();
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "softmax_rows", warp_rows_cfg(rows), xd, yd, &rows, &cols);
        }
    }
    unsafe fn log_softmax_rows_unchecked(x: &CudaBuf, y: &mut CudaBuf, rows: usize, cols: usize) {
        let rt = y.rt.clone();
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "log_softmax_rows", warp_rows_cfg(rows), xd, yd, &rows, &cols);
        }
    }
    unsafe fn softmax_backward_rows_unchecked(
        y: &CudaBuf,
        dy: &CudaBuf,
        dx: &mut CudaBuf,
        rows: usize,
        cols: usize,
    ) {
        let rt = dx.rt.clone();
        if let (Some(yd), Some(gd), Some(dd)) =
            (y.data.as_ref(), dy.data.as_ref(), dx.data.as_mut())
        {
            launch!(&rt, "softmax_backward_rows", warp_rows_cfg(rows), yd, gd, dd, &rows, &cols);
        }
    }
    unsafe fn log_softmax_backward_rows_unchecked(
        y: &CudaBuf,
        dy: &CudaBuf,
        dx: &mut CudaBuf,
        rows: usize,
        cols: usize,
    ) {
        let rt = dx.rt.clone();
        if let (Some(yd), Some(gd), Some(dd)) =
            (y.data.as_ref(), dy.data.as_ref(), dx.data.as_mut())
        {
            launch!(
                &rt,
                "log_softmax_backward_rows",
                warp_rows_cfg(rows),
                yd,
                gd,
                dd,
                &rows,
                &cols
            );
        }
    }
    unsafe fn nll_sum_unchecked(logp: &CudaBuf, labels: &[usize], rows: usize, cols: usize) -> f64 {
        let rt = logp.rt.clone();
        let (Some(lab), Some(per_row)) = (rt.take_labels(labels), rt.take_partials(rows)) else {
            return f64::NAN;
        };
        nll_rows(logp, &lab, &per_row, rows, cols);
        rt.give_labels(lab);
        host_sum(&rt, per_row, rows)
    }
    unsafe fn softmax_minus_onehot_unchecked(
        logp: &CudaBuf,
        labels: &[usize],
        dx: &mut CudaBuf,
        rows: usize,
        cols: usize,
        scale: f32,
    ) {
        let rt = dx.rt.clone();
        let Some(lab) = rt.take_labels(labels) else { return };
        softmax_minus_onehot_rows(logp, &lab, dx, rows, cols, scale);
        rt.give_labels(lab);
    }
    unsafe fn neg_onehot_unchecked(
        labels: &[usize],
        dx: &mut CudaBuf,
        rows: usize,
        cols: usize,
        scale: f32,
    ) {
        let rt = dx.rt.clone();
        let Some(lab) = rt.take_labels(labels) else { return };
        if let Some(dd) = dx.data.as_mut() {
            launch!(&rt, "neg_onehot", rows_cfg(rows * cols), &lab, dd, &rows, &cols, &scale);
        }
        rt.give_labels(lab);
    }
    unsafe fn bce_with_logits_unchecked(
        x: &CudaBuf,
        t: &CudaBuf,
        grad: &mut CudaBuf,
        scale: f32,
    ) -> f64 {
        let (rt, n) = (grad.rt.clone(), grad.len);
        let Some(mut loss) = rt.take_partials(n) else { return f64::NAN };
        if let (Some(xd), Some(td), Some(gd)) =
            (x.data.as_ref(), t.data.as_ref(), grad.data.as_mut())
        {
            launch!(&rt, "bce_with_logits", rows_cfg(n), xd, td, gd, &mut loss, &scale, &n);
        }
        host_sum(&rt, loss, n)
    }
}

/// Each row's negative log-likelihood `-logp[r, labels[r]]` into `per_row` (device labels: the
/// eager loss uploads them, a CUDA graph keeps its own).
pub(crate) fn nll_rows(
    logp: &CudaBuf,
    labels: &CudaSlice<i32>,
    per_row: &CudaSlice<f64>,
    rows: usize,
    cols: usize,
) {
    if let Some(ld) = logp.data.as_ref() {
        launch!(&logp.rt, "nll_sum", rows_cfg(rows), ld, labels, per_row, &rows, &cols);
    }
}

/// `dx = (softmax(logp) − onehot(labels))·scale` from device labels.
pub(crate) fn softmax_minus_onehot_rows(
    logp: &CudaBuf,
    labels: &CudaSlice<i32>,
    dx: &mut CudaBuf,
    rows: usize,
    cols: usize,
    scale: f32,
) {
    let rt = dx.rt.clone();
    if let (Some(ld), Some(dd)) = (logp.data.as_ref(), dx.data.as_mut()) {
        launch!(
            &rt,
            "softmax_minus_onehot",
            rows_cfg(rows * cols),
            ld,
            labels,
            dd,
            &rows,
            &cols,
            &scale
        );
    }
}
