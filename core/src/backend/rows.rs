//! The row family: softmax and log-softmax per row, and the classification losses.

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
    fn softmax_rows(x: &Self::Storage, y: &mut Self::Storage, rows: usize, cols: usize);
    /// Numerically stable log-softmax of each row.
    fn log_softmax_rows(x: &Self::Storage, y: &mut Self::Storage, rows: usize, cols: usize);
    /// Softmax backward from its output `y`: `dx = y ⊙ (dy − Σ dy ⊙ y)` per row.
    fn softmax_backward_rows(
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
    );
    /// Log-softmax backward from its output `y`: `dx = dy − e^y · Σ dy` per row.
    fn log_softmax_backward_rows(
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
    );
    /// `Σ_r −logp[r, labels[r]]`. Labels are already checked to be `< cols`.
    fn nll_sum(logp: &Self::Storage, labels: &[usize], rows: usize, cols: usize) -> f64;
    /// `dx = scale · (e^logp − onehot(labels))` (cross-entropy gradient from log-probabilities).
    fn softmax_minus_onehot(
        logp: &Self::Storage,
        labels: &[usize],
        dx: &mut Self::Storage,
        rows: usize,
        cols: usize,
        scale: Self::Elem,
    );
    /// `dx = −scale · onehot(labels)` (NLL gradient). Defaults to building the one-hot rows on
    /// the host and uploading them.
    fn neg_onehot(
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
    fn bce_with_logits(
        x: &Self::Storage,
        t: &Self::Storage,
        grad: &mut Self::Storage,
        scale: Self::Elem,
    ) -> f64;
}
