//! shapeflow-cpu: the CPU backend. Buffers are contiguous `Vec`s viewed through ndarray for
//! row-wise kernels; matrix products use the `gemm` crate (AVX-512 kernels picked at run time).
//!
//! [`Cpu`] computes in `f32`; [`Cpu64`] in `f64` (used by the gradient checks).
//!
//! ```
//! use shapeflow_core::{Backend, Tensor};
//! use shapeflow_cpu::Cpu;
//! let t = Tensor::<(typenum::U2,), Cpu>::ones(&Cpu::default(), &[2]).unwrap();
//! assert_eq!(t.to_vec(), vec![1.0, 1.0]);
//! ```
#![warn(missing_docs)]

mod activation;
mod batch_norm;
mod bias;
mod conv;
mod dropout;
mod elementwise;
mod loss;
mod matmul;
mod optim;
mod pool;
mod softmax;

use std::marker::PhantomData;

use shapeflow_core::backend::{AdamStep, SgdStep, Window2d};
use shapeflow_core::{Activation, Backend, Elem};

pub use matmul::set_matmul_threads;

/// The CPU device, computing in `E` (`f32` or `f64`).
///
/// ```
/// use shapeflow_core::Backend;
/// assert_eq!(shapeflow_cpu::Cpu::default().name(), "cpu-f32");
/// ```
pub struct CpuDevice<E> {
    _elem: PhantomData<fn() -> E>,
}

impl<E> Clone for CpuDevice<E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for CpuDevice<E> {}
impl<E> Default for CpuDevice<E> {
    fn default() -> Self {
        CpuDevice { _elem: PhantomData }
    }
}
impl<E: Elem> std::fmt::Debug for CpuDevice<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cpu<{}>", E::NAME)
    }
}

/// The CPU backend in `f32`: the default for training.
pub type Cpu = CpuDevice<f32>;
/// The CPU backend in `f64`: for gradient checks and numerically demanding work.
pub type Cpu64 = CpuDevice<f64>;

/// Element types the CPU kernels support (`f32`, `f64`).
pub trait CpuElem: Elem {
    /// The error function (for GELU).
    fn erf(self) -> Self;
}
impl CpuElem for f32 {
    fn erf(self) -> Self {
        libm::erff(self)
    }
}
impl CpuElem for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
}

impl<E: CpuElem> Backend for CpuDevice<E> {
    type Elem = E;
    type Storage = Vec<E>;

    fn name(&self) -> String {
        format!("cpu-{}", E::NAME)
    }
    fn zeros(&self, len: usize) -> Vec<E> {
        vec![E::zero(); len]
    }
    fn upload(&self, data: &[E]) -> Vec<E> {
        data.to_vec()
    }
    fn zeros_like(_: &Vec<E>, len: usize) -> Vec<E> {
        vec![E::zero(); len]
    }
    fn upload_like(_: &Vec<E>, data: &[E]) -> Vec<E> {
        data.to_vec()
    }
    fn to_host(s: &Vec<E>) -> Vec<E> {
        s.clone()
    }
    fn len(s: &Vec<E>) -> usize {
        s.len()
    }
    fn fill(s: &mut Vec<E>, v: E) {
        s.fill(v);
    }
    fn matmul(
        a: &Vec<E>,
        b: &Vec<E>,
        c: &mut Vec<E>,
        m: usize,
        k: usize,
        n: usize,
        trans_a: bool,
        trans_b: bool,
        beta: E,
    ) {
        matmul::matmul(a, b, c, m, k, n, trans_a, trans_b, beta);
    }
    fn transpose_blocks(x: &Vec<E>, y: &mut Vec<E>, rows: usize, cols: usize, inner: usize) {
        elementwise::transpose_blocks(x, y, rows, cols, inner);
    }
    fn add_channel_bias(
        y: &mut Vec<E>,
        bias: &Vec<E>,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        bias::add_channel_bias(y, bias, outer, channels, inner);
    }
    fn sum_channels(x: &Vec<E>, out: &mut Vec<E>, outer: usize, channels: usize, inner: usize) {
        bias::sum_channels(x, out, outer, channels, inner);
    }
    fn mul_rows_broadcast(x: &Vec<E>, m: &Vec<E>, y: &mut Vec<E>, rows: usize, inner: usize) {
        elementwise::mul_rows_broadcast(x, m, y, rows, inner);
    }
    fn im2col(x: &Vec<E>, cols: &mut Vec<E>, g: Window2d) {
        conv::im2col(x, cols, g);
    }
    fn col2im(cols: &Vec<E>, dx: &mut Vec<E>, g: Window2d) {
        conv::col2im(cols, dx, g);
    }
    fn max_pool2d(x: &Vec<E>, y: &mut Vec<E>, argmax: &mut Vec<E>, g: Window2d) {
        pool::max_pool2d(x, y, argmax, g);
    }
    fn max_pool2d_backward(dy: &Vec<E>, argmax: &Vec<E>, dx: &mut Vec<E>, g: Window2d) {
        pool::max_pool2d_backward(dy, argmax, dx, g);
    }
    fn avg_pool2d(x: &Vec<E>, y: &mut Vec<E>, g: Window2d) {
        pool::avg_pool2d(x, y, g);
    }
    fn avg_pool2d_backward(dy: &Vec<E>, dx: &mut Vec<E>, g: Window2d) {
        pool::avg_pool2d_backward(dy, dx, g);
    }
    fn channel_moments(
        x: &Vec<E>,
        mean: &mut Vec<E>,
        var: &mut Vec<E>,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        batch_norm::channel_moments(x, mean, var, outer, channels, inner);
    }
    fn batch_norm_apply(
        x: &Vec<E>,
        mean: &Vec<E>,
        var: &Vec<E>,
        gamma: &Vec<E>,
        beta: &Vec<E>,
        y: &mut Vec<E>,
        eps: f64,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        batch_norm::batch_norm_apply(x, mean, var, gamma, beta, y, eps, outer, channels, inner);
    }
    fn batch_norm_backward(
        x: &Vec<E>,
        dy: &Vec<E>,
        mean: &Vec<E>,
        var: &Vec<E>,
        gamma: &Vec<E>,
        dx: &mut Vec<E>,
        dgamma: &mut Vec<E>,
        dbeta: &mut Vec<E>,
        eps: f64,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        batch_norm::batch_norm_backward(
            x, dy, mean, var, gamma, dx, dgamma, dbeta, eps, outer, channels, inner,
        );
    }
    fn add_bias(y: &mut Vec<E>, bias: &Vec<E>, rows: usize, cols: usize) {
        bias::add_bias(y, bias, rows, cols);
    }
    fn sum_rows(x: &Vec<E>, out: &mut Vec<E>, rows: usize, cols: usize) {
        bias::sum_rows(x, out, rows, cols);
    }
    fn activation(kind: Activation, x: &Vec<E>, y: &mut Vec<E>) {
        activation::forward(kind, x, y);
    }
    fn activation_backward(kind: Activation, saved: &Vec<E>, dy: &Vec<E>, dx: &mut Vec<E>) {
        activation::backward(kind, saved, dy, dx);
    }
    fn mul(a: &Vec<E>, b: &Vec<E>, out: &mut Vec<E>) {
        elementwise::mul(a, b, out);
    }
    fn sub(a: &Vec<E>, b: &Vec<E>, out: &mut Vec<E>) {
        elementwise::sub(a, b, out);
    }
    fn axpy(alpha: E, x: &Vec<E>, y: &mut Vec<E>) {
        elementwise::axpy(alpha, x, y);
    }
    fn scale(x: &mut Vec<E>, alpha: E) {
        elementwise::scale(x, alpha);
    }
    fn clamp(x: &mut Vec<E>, lo: f64, hi: f64) {
        elementwise::clamp(x, lo, hi);
    }
    fn sum(x: &Vec<E>) -> f64 {
        elementwise::sum(x)
    }
    fn sum_squares(x: &Vec<E>) -> f64 {
        elementwise::sum_squares(x)
    }
    fn dropout_mask(mask: &mut Vec<E>, p: f64, seed: u64) {
        dropout::dropout_mask(mask, p, seed);
    }
    fn softmax_rows(x: &Vec<E>, y: &mut Vec<E>, rows: usize, cols: usize) {
        softmax::softmax_rows(x, y, rows, cols);
    }
    fn log_softmax_rows(x: &Vec<E>, y: &mut Vec<E>, rows: usize, cols: usize) {
        softmax::log_softmax_rows(x, y, rows, cols);
    }
    fn softmax_backward_rows(y: &Vec<E>, dy: &Vec<E>, dx: &mut Vec<E>, rows: usize, cols: usize) {
        softmax::softmax_backward_rows(y, dy, dx, rows, cols);
    }
    fn log_softmax_backward_rows(
        y: &Vec<E>,
        dy: &Vec<E>,
        dx: &mut Vec<E>,
        rows: usize,
        cols: usize,
    ) {
        softmax::log_softmax_backward_rows(y, dy, dx, rows, cols);
    }
    fn nll_sum(logp: &Vec<E>, labels: &[usize], rows: usize, cols: usize) -> f64 {
        loss::nll_sum(logp, labels, rows, cols)
    }
    fn softmax_minus_onehot(
        logp: &Vec<E>,
        labels: &[usize],
        dx: &mut Vec<E>,
        rows: usize,
        cols: usize,
        scale: E,
    ) {
        loss::softmax_minus_onehot(logp, labels, dx, rows, cols, scale);
    }
    fn neg_onehot(labels: &[usize], dx: &mut Vec<E>, rows: usize, cols: usize, scale: E) {
        loss::neg_onehot(labels, dx, rows, cols, scale);
    }
    fn bce_with_logits(x: &Vec<E>, t: &Vec<E>, grad: &mut Vec<E>, scale: E) -> f64 {
        loss::bce_with_logits(x, t, grad, scale)
    }
    fn adam_step(p: &mut Vec<E>, g: &Vec<E>, m: &mut Vec<E>, v: &mut Vec<E>, hp: AdamStep) {
        optim::adam_step(p, g, m, v, hp);
    }
    fn sgd_step(p: &mut Vec<E>, g: &Vec<E>, buf: Option<&mut Vec<E>>, hp: SgdStep) {
        optim::sgd_step(p, g, buf.map(|b| b.as_mut_slice()), hp);
    }
}
