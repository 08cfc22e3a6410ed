//! `impl Rows for CpuDevice`: row softmax family (`softmax.rs`) and classification losses
//! (`loss.rs`).

use shapeflow_core::backend::Rows;

use crate::{CpuBuf, CpuDevice, CpuElem, loss, softmax};

impl<E: CpuElem> Rows for CpuDevice<E> {
    fn softmax_rows(x: &CpuBuf<E>, y: &mut CpuBuf<E>, rows: usize, cols: usize) {
        softmax::softmax_rows(x, y, rows, cols);
    }
    fn log_softmax_rows(x: &CpuBuf<E>, y: &mut CpuBuf<E>, rows: usize, cols: usize) {
        softmax::log_softmax_rows(x, y, rows, cols);
    }
    fn softmax_backward_rows(
        y: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
        rows: usize,
        cols: usize,
    ) {
        softmax::softmax_backward_rows(y, dy, dx, rows, cols);
    }
    fn log_softmax_backward_rows(
        y: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
        rows: usize,
        cols: usize,
    ) {
        softmax::log_softmax_backward_rows(y, dy, dx, rows, cols);
    }
    fn nll_sum(logp: &CpuBuf<E>, labels: &[usize], rows: usize, cols: usize) -> f64 {
        loss::nll_sum(logp, labels, rows, cols)
    }
    fn softmax_minus_onehot(
        logp: &CpuBuf<E>,
        labels: &[usize],
        dx: &mut CpuBuf<E>,
        rows: usize,
        cols: usize,
        scale: E,
    ) {
        loss::softmax_minus_onehot(logp, labels, dx, rows, cols, scale);
    }
    fn neg_onehot(labels: &[usize], dx: &mut CpuBuf<E>, rows: usize, cols: usize, scale: E) {
        loss::neg_onehot(labels, dx, rows, cols, scale);
    }
    fn bce_with_logits(x: &CpuBuf<E>, t: &CpuBuf<E>, grad: &mut CpuBuf<E>, scale: E) -> f64 {
        loss::bce_with_logits(x, t, grad, scale)
    }
}
