//! The elementwise family: activations, arithmetic, reductions to a scalar, dropout masks.

use super::contract::{contract, count};
/// Elementwise activation functions, shared by the activation layers and the kernels.
///
/// ```
/// use shapeflow_core::Activation;
/// assert!(Activation::Relu.backward_uses_output());
/// assert!(!Activation::Gelu.backward_uses_output());
/// assert!(Activation::Gelu.saves_derivative());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, else `slope * x`.
    LeakyRelu(f64),
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `x · Φ(x)`, the exact (erf) form, as PyTorch's default `GELU()`.
    Gelu,
    /// GELU's tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (PyTorch's
    /// `GELU(approximate='tanh')`).
    GeluTanh,
}

impl Activation {
    /// Whether the backward kernel reads the forward output (`true`) or the input (`false`).
    pub fn backward_uses_output(self) -> bool {
        matches!(self, Activation::Relu | Activation::Sigmoid | Activation::Tanh)
    }

    /// Whether a training forward pass keeps the derivative `f'(x)` (from
    /// [`Elementwise::activation_with_derivative`]) so that the backward pass is one product
    /// `dy ⊙ f'(x)`: for the GELUs, whose derivative costs an `erf` or a `tanh` and an `exp` per
    /// value when recomputed from the input.
    pub fn saves_derivative(self) -> bool {
        matches!(self, Activation::Gelu | Activation::GeluTanh)
    }
}

use super::Device;

/// Elementwise kernels over whole buffers.
///
/// ```
/// use shapeflow_core::backend::{Device, Elementwise};
/// use shapeflow_cpu::Cpu;
/// let x = Cpu::default().upload(&[3.0, 4.0]);
/// assert_eq!(Cpu::sum_squares(&x), 25.0);
/// ```
pub trait Elementwise: Device {
    /// `y = f(x)` elementwise.
    #[track_caller]
    fn activation(kind: Activation, x: &Self::Storage, y: &mut Self::Storage) {
        contract!("Elementwise::activation"; y => exactly(Self::len(x)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::activation_unchecked(kind, x, y) }
    }

    /// The kernel behind [`Elementwise::activation`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Elementwise::activation`] checks.
    unsafe fn activation_unchecked(kind: Activation, x: &Self::Storage, y: &mut Self::Storage);
    /// `y = f(x)` and `d = f'(x)` in one pass (see [`Activation::saves_derivative`]).
    /// Defaults to [`Elementwise::activation`], then [`Elementwise::activation_backward`] of
    /// an output gradient of ones.
    ///
    /// ```
    /// use shapeflow_core::{Activation, backend::{Device, Elementwise}};
    /// use shapeflow_cpu::Cpu;
    /// let x = Cpu::default().upload(&[0.0]);
    /// let (mut y, mut d) = (Cpu::zeros_like(&x, 1), Cpu::zeros_like(&x, 1));
    /// Cpu::activation_with_derivative(Activation::Gelu, &x, &mut y, &mut d);
    /// assert_eq!((Cpu::to_host(&y)[0], Cpu::to_host(&d)[0]), (0.0, 0.5));
    /// ```
    #[track_caller]
    fn activation_with_derivative(
        kind: Activation,
        x: &Self::Storage,
        y: &mut Self::Storage,
        d: &mut Self::Storage,
    ) {
        contract!("Elementwise::activation_with_derivative"; y => exactly(Self::len(x)), d => exactly(Self::len(x)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::activation_with_derivative_unchecked(kind, x, y, d) }
    }

    /// The kernel behind [`Elementwise::activation_with_derivative`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Elementwise::activation_with_derivative`] checks.
    unsafe fn activation_with_derivative_unchecked(
        kind: Activation,
        x: &Self::Storage,
        y: &mut Self::Storage,
        d: &mut Self::Storage,
    ) {
        Self::activation(kind, x, y);
        let mut ones = Self::scratch_like(x, Self::len(x));
        Self::fill(&mut ones, <Self::Elem as num_traits::One>::one());
        Self::activation_backward(kind, if kind.backward_uses_output() { y } else { x }, &ones, d);
    }
    /// `dx = f'(·) · dy`; `saved` is the forward output or input per
    /// [`Activation::backward_uses_output`].
    #[track_caller]
    fn activation_backward(
        kind: Activation,
        saved: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
    ) {
        contract!("Elementwise::activation_backward"; dy => exactly(Self::len(saved)), dx => exactly(Self::len(saved)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::activation_backward_unchecked(kind, saved, dy, dx) }
    }

    /// The kernel behind [`Elementwise::activation_backward`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Elementwise::activation_backward`] checks.
    unsafe fn activation_backward_unchecked(
        kind: Activation,
        saved: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
    );
    /// `out = a ⊙ b`.
    #[track_caller]
    fn mul(a: &Self::Storage, b: &Self::Storage, out: &mut Self::Storage) {
        contract!("Elementwise::mul"; b => exactly(Self::len(a)), out => exactly(Self::len(a)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::mul_unchecked(a, b, out) }
    }

    /// The kernel behind [`Elementwise::mul`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Elementwise::mul`] checks.
    unsafe fn mul_unchecked(a: &Self::Storage, b: &Self::Storage, out: &mut Self::Storage);
    /// `out = a - b`.
    #[track_caller]
    fn sub(a: &Self::Storage, b: &Self::Storage, out: &mut Self::Storage) {
        contract!("Elementwise::sub"; b => exactly(Self::len(a)), out => exactly(Self::len(a)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::sub_unchecked(a, b, out) }
    }

    /// The kernel behind [`Elementwise::sub`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Elementwise::sub`] checks.
    unsafe fn sub_unchecked(a: &Self::Storage, b: &Self::Storage, out: &mut Self::Storage);
    /// `out = a + b`, in one pass over the three buffers where the backend has it. Defaults to
    /// zeroing `out` and adding `a` and then `b` with [`Elementwise::axpy`].
    ///
    /// ```
    /// use shapeflow_core::backend::{Device, Elementwise};
    /// use shapeflow_cpu::Cpu;
    /// let (a, b) = (Cpu::default().upload(&[1.0, 2.0]), Cpu::default().upload(&[3.0, 5.0]));
    /// let mut out = Cpu::zeros_like(&a, 2);
    /// Cpu::add(&a, &b, &mut out);
    /// assert_eq!(Cpu::to_host(&out), vec![4.0, 7.0]);
    /// ```
    #[track_caller]
    fn add(a: &Self::Storage, b: &Self::Storage, out: &mut Self::Storage) {
        contract!("Elementwise::add"; b => exactly(Self::len(a)), out => exactly(Self::len(a)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::add_unchecked(a, b, out) }
    }

    /// The kernel behind [`Elementwise::add`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Elementwise::add`] checks.
    unsafe fn add_unchecked(a: &Self::Storage, b: &Self::Storage, out: &mut Self::Storage) {
        let one = <Self::Elem as num_traits::One>::one();
        Self::fill(out, <Self::Elem as num_traits::Zero>::zero());
        Self::axpy(one, a, out);
        Self::axpy(one, b, out);
    }
    /// `y += alpha · x`.
    #[track_caller]
    fn axpy(alpha: Self::Elem, x: &Self::Storage, y: &mut Self::Storage) {
        contract!("Elementwise::axpy"; y => exactly(Self::len(x)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::axpy_unchecked(alpha, x, y) }
    }

    /// The kernel behind [`Elementwise::axpy`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Elementwise::axpy`] checks.
    unsafe fn axpy_unchecked(alpha: Self::Elem, x: &Self::Storage, y: &mut Self::Storage);
    /// `x *= alpha`.
    fn scale(x: &mut Self::Storage, alpha: Self::Elem);
    /// Clamps every element to `[lo, hi]`.
    fn clamp(x: &mut Self::Storage, lo: f64, hi: f64);
    /// Sum of all elements (accumulated in `f64`).
    fn sum(x: &Self::Storage) -> f64;
    /// Sum of squares of all elements (accumulated in `f64`). Defaults to [`Elementwise::mul`]
    /// then [`Elementwise::sum`].
    fn sum_squares(x: &Self::Storage) -> f64 {
        let mut sq = Self::scratch_like(x, Self::len(x));
        Self::mul(x, x, &mut sq);
        Self::sum(&sq)
    }
    /// `y[r, i] = x[r, i] · m[r]` for `rows × inner` buffers (channel dropout masks).
    #[track_caller]
    fn mul_rows_broadcast(
        x: &Self::Storage,
        m: &Self::Storage,
        y: &mut Self::Storage,
        rows: usize,
        inner: usize,
    ) {
        let n = count(&[rows, inner]);
        contract!("Elementwise::mul_rows_broadcast", (rows, inner); x => at_least(n), m => at_least(Some(rows)), y => at_least(n));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::mul_rows_broadcast_unchecked(x, m, y, rows, inner) }
    }

    /// The kernel behind [`Elementwise::mul_rows_broadcast`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Elementwise::mul_rows_broadcast`] checks.
    unsafe fn mul_rows_broadcast_unchecked(
        x: &Self::Storage,
        m: &Self::Storage,
        y: &mut Self::Storage,
        rows: usize,
        inner: usize,
    );
    /// Fills `mask` with `1/(1-p)` (kept) or `0` (dropped), from a counter-based RNG keyed by
    /// `seed`: the same seed gives the same mask on every backend.
    fn dropout_mask(mask: &mut Self::Storage, p: f64, seed: u64);
}
