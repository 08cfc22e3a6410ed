//! The row family: softmax and log-softmax per row, and the classification losses.

use super::contract::{check_indices, contract, count};
use super::{Device, Elem};

/// Kernels over the rows of a `rows × cols` buffer.
///
/// ```
/// use shapeflow_core::backend::{Device, Rows};
/// use shapeflow_cpu::Cpu;
/// let x = Cpu::default().upload(&[0.0, 0.0]);
/// let mut y = Cpu::default().zeros(2);
/// Cpu::softmax_rows(&x, &mut y, 1, 2);
/// assert_eq!(Cpu::to_host(&y), vec![0.5, 0.5]);
/// ```
pub trait Rows: Device {
    /// Numerically stable softmax of each row.
    #[track_caller]
    fn softmax_rows(x: &Self::Storage, y: &mut Self::Storage, rows: usize, cols: usize) {
        let n = count(&[rows, cols]);
        contract!("Rows::softmax_rows", (rows, cols); x => at_least(n), y => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::softmax_rows_unchecked(x, y, rows, cols) }
    }

    /// The kernel behind [`Rows::softmax_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Rows::softmax_rows`] checks.
    unsafe fn softmax_rows_unchecked(
        x: &Self::Storage,
        y: &mut Self::Storage,
        rows: usize,
        cols: usize,
    );
    /// Numerically stable log-softmax of each row.
    #[track_caller]
    fn log_softmax_rows(x: &Self::Storage, y: &mut Self::Storage, rows: usize, cols: usize) {
        let n = count(&[rows, cols]);
        contract!("Rows::log_softmax_rows", (rows, cols); x => at_least(n), y => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::log_softmax_rows_unchecked(x, y, rows, cols) }
    }

    /// The kernel behind [`Rows::log_softmax_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Rows::log_softmax_rows`] checks.
    unsafe fn log_softmax_rows_unchecked(
        x: &Self::Storage,
        y: &mut Self::Storage,
        rows: usize,
        cols: usize,
    );
    /// Softmax backward from its output `y`: `dx = y ⊙ (dy − Σ dy ⊙ y)` per row.
    #[track_caller]
    fn softmax_backward_rows(
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
    ) {
        let n = count(&[rows, cols]);
        contract!("Rows::softmax_backward_rows", (rows, cols); y => at_least(n), dy => at_least(n), dx => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::softmax_backward_rows_unchecked(y, dy, dx, rows, cols) }
    }

    /// The kernel behind [`Rows::softmax_backward_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Rows::softmax_backward_rows`] checks.
    unsafe fn softmax_backward_rows_unchecked(
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
    );
    /// Log-softmax backward from its output `y`: `dx = dy − e^y · Σ dy` per row.
    #[track_caller]
    fn log_softmax_backward_rows(
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
    ) {
        let n = count(&[rows, cols]);
        contract!("Rows::log_softmax_backward_rows", (rows, cols); y => at_least(n), dy => at_least(n), dx => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::log_softmax_backward_rows_unchecked(y, dy, dx, rows, cols) }
    }

    /// The kernel behind [`Rows::log_softmax_backward_rows`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Rows::log_softmax_backward_rows`] checks.
    unsafe fn log_softmax_backward_rows_unchecked(
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
    );
    /// `Σ_r −logp[r, labels[r]]`. Labels are already checked to be `< cols`.
    #[track_caller]
    fn nll_sum(logp: &Self::Storage, labels: &[usize], rows: usize, cols: usize) -> f64 {
        check_indices("Rows::nll_sum", "labels", labels, rows, cols, false);
        contract!("Rows::nll_sum", (rows, cols); logp => at_least(count(&[rows, cols])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::nll_sum_unchecked(logp, labels, rows, cols) }
    }

    /// The kernel behind [`Rows::nll_sum`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Rows::nll_sum`] checks.
    unsafe fn nll_sum_unchecked(
        logp: &Self::Storage,
        labels: &[usize],
        rows: usize,
        cols: usize,
    ) -> f64;
    /// `dx = scale · (e^logp − onehot(labels))` (cross-entropy gradient from log-probabilities).
    #[track_caller]
    fn softmax_minus_onehot(
        logp: &Self::Storage,
        labels: &[usize],
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
        scale: Self::Elem,
    ) {
        check_indices("Rows::softmax_minus_onehot", "labels", labels, rows, cols, false);
        let n = count(&[rows, cols]);
        contract!("Rows::softmax_minus_onehot", (rows, cols); logp => at_least(n), dx => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::softmax_minus_onehot_unchecked(logp, labels, dx, rows, cols, scale) }
    }

    /// The kernel behind [`Rows::softmax_minus_onehot`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Rows::softmax_minus_onehot`] checks.
    unsafe fn softmax_minus_onehot_unchecked(
        logp: &Self::Storage,
        labels: &[usize],
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
        scale: Self::Elem,
    );
    /// `dx = −scale · onehot(labels)` (NLL gradient). Defaults to building the one-hot rows on
    /// the host and uploading them.
    #[track_caller]
    fn neg_onehot(
        labels: &[usize],
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
        scale: Self::Elem,
    ) {
        check_indices("Rows::neg_onehot", "labels", labels, rows, cols, false);
        contract!("Rows::neg_onehot", (rows, cols); dx => at_least(count(&[rows, cols])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::neg_onehot_unchecked(labels, dx, rows, cols, scale) }
    }

    /// The kernel behind [`Rows::neg_onehot`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Rows::neg_onehot`] checks.
    unsafe fn neg_onehot_unchecked(
        labels: &[usize],
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
        scale: Self::Elem,
    ) {
        let mut host = vec![Self::Elem::from_f64(0.0); rows * cols];
        for (r, &l) in labels.iter().enumerate().take(rows) {
            host[r * cols + l] = -scale;
        }
        *dx = Self::upload_like(dx, &host);
    }
    /// Binary cross-entropy with logits: returns `Σ max(x,0) − x·t + ln(1+e^−|x|)` and writes
    /// `grad = scale · (σ(x) − t)`.
    #[track_caller]
    fn bce_with_logits(
        x: &Self::Storage,
        t: &Self::Storage,
        grad: &mut Self::Storage,
        scale: Self::Elem,
    ) -> f64 {
        contract!("Rows::bce_with_logits"; t => exactly(Self::len(x)), grad => exactly(Self::len(x)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::bce_with_logits_unchecked(x, t, grad, scale) }
    }

    /// The kernel behind [`Rows::bce_with_logits`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Rows::bce_with_logits`] checks.
    unsafe fn bce_with_logits_unchecked(
        x: &Self::Storage,
        t: &Self::Storage,
        grad: &mut Self::Storage,
        scale: Self::Elem,
    ) -> f64;
}
