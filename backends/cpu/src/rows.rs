//! `impl Rows for CpuDevice`: row softmax family (`softmax.rs`) and classification losses
//! (`loss.rs`).

use shapeflow_core::backend::Rows;

use crate::{CpuBuf, CpuDevice, CpuElem, loss, softmax};

impl<E: CpuElem> Rows for CpuDevice<E> {
    unsafe fn softmax_rows_unchecked(x: &CpuBuf<E>, y: &mut CpuBuf<E>, rows: usize, cols: usize) {
        softmax::softmax_rows(x, y, rows, cols);
    }
    unsafe fn log_softmax_rows_unchecked(
        x: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        rows: usize,
        cols: usize,
    ) {
        softmax::log_softmax_rows(x, y, rows, cols);
    }
    unsafe fn softmax_backward_rows_unchecked(
        y: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
        rows: usize,
        cols: usize,
    ) {
        softmax::softmax_backward_rows(y, dy, dx, rows, cols);
    }
    unsafe fn log_softmax_backward_rows_unchecked(
        y: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
        rows: usize,
        cols: usize,
    ) {
        softmax::log_softmax_backward_rows(y, dy, dx, rows, cols);
    }
    unsafe fn nll_sum_unchecked(
        logp: &CpuBuf<E>,
        labels: &[usize],
        rows: usize,
        cols: usize,
    ) -> f64 {
        loss::nll_sum(logp, labels, rows, cols)
    }
    unsafe fn softmax_minus_onehot_unchecked(
        logp: &CpuBuf<E>,
        labels: &[usize],
        dx: &mut CpuBuf<E>,
        rows: usize,
        cols: usize,
        scale: E,
    ) {
        loss::softmax_minus_onehot(logp, labels, dx, rows, cols, scale);
    }
    unsafe fn neg_onehot_unchecked(
        labels: &[usize],
        dx: &mut CpuBuf<E>,
        rows: usize,
        cols: usize,
        scale: E,
    ) {
        loss::neg_onehot(labels, dx, rows, cols, scale);
    }
    unsafe fn bce_with_logits_unchecked(
        x: &CpuBuf<E>,
        t: &CpuBuf<E>,
        grad: &mut CpuBuf<E>,
        scale: E,
    ) -> f64 {
        loss::bce_with_logits(x, t, grad, scale)
    }
}
