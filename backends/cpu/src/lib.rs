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
mod buffer;
mod conv;
mod dropout;
mod elementwise;
mod f32_view;
mod loss;
mod matmul;
#[cfg(target_arch = "x86_64")]
mod matmul_dots;
mod matmul_row;
mod optim;
mod pool;
mod softmax;
mod workers;

use std::marker::PhantomData;

use shapeflow_core::backend::{AdamStep, SgdStep, Window2d};
use shapeflow_core::{Activation, Backend, Elem};

pub use buffer::{CpuBuf, Pool};
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
    /// The buffer pool of this type.
    fn pool() -> &'static std::sync::Mutex<Pool<Self>>;
}
impl CpuElem for f32 {
    fn erf(self) -> Self {
        libm::erff(self)
    }
    fn pool() -> &'static std::sync::Mutex<Pool<Self>> {
        &buffer::POOL_F32
    }
}
impl CpuElem for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn pool() -> &'static std::sync::Mutex<Pool<Self>> {
        &buffer::POOL_F64
    }
}

impl<E: CpuElem> Backend for CpuDevice<E> {
    type Elem = E;
    type Storage = CpuBuf<E>;

    fn name(&self) -> String {
        format!("cpu-{}", E::NAME)
    }
    fn zeros(&self, len: usize) -> CpuBuf<E> {
        CpuBuf::zeros(len)
    }
    fn upload(&self, data: &[E]) -> CpuBuf<E> {
        CpuBuf::from_slice(data)
    }
    fn zeros_like(_: &CpuBuf<E>, len: usize) -> CpuBuf<E> {
        CpuBuf::zeros(len)
    }
    /// On a rayon worker: called from another thread (such as `main`), every parallel kernel
    /// would hand its work to the workers and sleep until they finish, a wake-up per kernel;
    /// called from a worker, it shares the work and takes part itself. Meanwhile another worker
    /// spins on the pool's pending jobs (`workers.rs`) instead of sleeping between kernels.
    fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        workers::on_workers(f)
    }

    fn scratch_like(_: &CpuBuf<E>, len: usize) -> CpuBuf<E> {
        CpuBuf::scratch(len)
    }
    fn upload_like(_: &CpuBuf<E>, data: &[E]) -> CpuBuf<E> {
        CpuBuf::from_slice(data)
    }
    fn to_host(s: &CpuBuf<E>) -> Vec<E> {
        s.to_vec()
    }
    fn len(s: &CpuBuf<E>) -> usize {
        s.len()
    }
    fn fill(s: &mut CpuBuf<E>, v: E) {
        s.fill(v);
    }
    fn matmul(
        a: &CpuBuf<E>,
        b: &CpuBuf<E>,
        c: &mut CpuBuf<E>,
        m: usize,
        k: usize,
        n: usize,
        trans_a: bool,
        trans_b: bool,
        beta: E,
    ) {
        matmul::matmul(a, b, c, m, k, n, trans_a, trans_b, beta);
    }
    fn transpose_blocks(
        x: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        batch: usize,
        rows: usize,
        cols: usize,
        inner: usize,
    ) {
        elementwise::transpose_blocks(x, y, batch, rows, cols, inner);
    }
    fn add_channel_bias(
        y: &mut CpuBuf<E>,
        bias: &CpuBuf<E>,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        bias::add_channel_bias(y, bias, outer, channels, inner);
    }
    fn sum_channels(
        x: &CpuBuf<E>,
        out: &mut CpuBuf<E>,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        bias::sum_channels(x, out, outer, channels, inner);
    }
    fn mul_rows_broadcast(
        x: &CpuBuf<E>,
        m: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        rows: usize,
        inner: usize,
    ) {
        elementwise::mul_rows_broadcast(x, m, y, rows, inner);
    }
    fn im2col(x: &CpuBuf<E>, cols: &mut CpuBuf<E>, g: Window2d) {
        conv::im2col(x, cols, g);
    }
    fn col2im(cols: &CpuBuf<E>, dx: &mut CpuBuf<E>, g: Window2d) {
        conv::col2im(cols, dx, g);
    }
    fn max_pool2d(x: &CpuBuf<E>, y: &mut CpuBuf<E>, argmax: &mut CpuBuf<E>, g: Window2d) {
        pool::max_pool2d(x, y, argmax, g);
    }
    fn max_pool2d_backward(dy: &CpuBuf<E>, argmax: &CpuBuf<E>, dx: &mut CpuBuf<E>, g: Window2d) {
        pool::max_pool2d_backward(dy, argmax, dx, g);
    }
    fn avg_pool2d(x: &CpuBuf<E>, y: &mut CpuBuf<E>, g: Window2d) {
        pool::avg_pool2d(x, y, g);
    }
    fn avg_pool2d_backward(dy: &CpuBuf<E>, dx: &mut CpuBuf<E>, g: Window2d) {
        pool::avg_pool2d_backward(dy, dx, g);
    }
    fn channel_moments(
        x: &CpuBuf<E>,
        mean: &mut CpuBuf<E>,
        var: &mut CpuBuf<E>,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        batch_norm::channel_moments(x, mean, var, outer, channels, inner);
    }
    fn batch_norm_apply(
        x: &CpuBuf<E>,
        mean: &CpuBuf<E>,
        var: &CpuBuf<E>,
        gamma: &CpuBuf<E>,
        beta: &CpuBuf<E>,
        y: &mut CpuBuf<E>,
        eps: f64,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        batch_norm::batch_norm_apply(x, mean, var, gamma, beta, y, eps, outer, channels, inner);
    }
    fn batch_norm_backward(
        x: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        mean: &CpuBuf<E>,
        var: &CpuBuf<E>,
        gamma: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
        dgamma: &mut CpuBuf<E>,
        dbeta: &mut CpuBuf<E>,
        eps: f64,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        batch_norm::batch_norm_backward(
            x, dy, mean, var, gamma, dx, dgamma, dbeta, eps, outer, channels, inner,
        );
    }
    fn add_bias(y: &mut CpuBuf<E>, bias: &CpuBuf<E>, rows: usize, cols: usize) {
        bias::add_bias(y, bias, rows, cols);
    }
    fn sum_rows(x: &CpuBuf<E>, out: &mut CpuBuf<E>, rows: usize, cols: usize) {
        bias::sum_rows(x, out, rows, cols);
    }
    fn activation(kind: Activation, x: &CpuBuf<E>, y: &mut CpuBuf<E>) {
        activation::forward(kind, x, y);
    }
    fn activation_backward(
        kind: Activation,
        saved: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
    ) {
        activation::backward(kind, saved, dy, dx);
    }
    fn mul(a: &CpuBuf<E>, b: &CpuBuf<E>, out: &mut CpuBuf<E>) {
        elementwise::mul(a, b, out);
    }
    fn sub(a: &CpuBuf<E>, b: &CpuBuf<E>, out: &mut CpuBuf<E>) {
        elementwise::sub(a, b, out);
    }
    fn axpy(alpha: E, x: &CpuBuf<E>, y: &mut CpuBuf<E>) {
        elementwise::axpy(alpha, x, y);
    }
    fn scale(x: &mut CpuBuf<E>, alpha: E) {
        elementwise::scale(x, alpha);
    }
    fn clamp(x: &mut CpuBuf<E>, lo: f64, hi: f64) {
        elementwise::clamp(x, lo, hi);
    }
    fn sum(x: &CpuBuf<E>) -> f64 {
        elementwise::sum(x)
    }
    fn sum_squares(x: &CpuBuf<E>) -> f64 {
        elementwise::sum_squares(x)
    }
    fn dropout_mask(mask: &mut CpuBuf<E>, p: f64, seed: u64) {
        dropout::dropout_mask(mask, p, seed);
    }
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
    fn adam_step(
        p: &mut CpuBuf<E>,
        g: &CpuBuf<E>,
        m: &mut CpuBuf<E>,
        v: &mut CpuBuf<E>,
        hp: AdamStep,
    ) {
        optim::adam_step(p, g, m, v, hp);
    }
    fn sgd_step(p: &mut CpuBuf<E>, g: &CpuBuf<E>, buf: Option<&mut CpuBuf<E>>, hp: SgdStep) {
        optim::sgd_step(p, g, buf.map(|b| &mut b[..]), hp);
    }
}
