//! The per-value formulas of the op set: each unary op's value and derivative, each binary op's
//! value, each reduction's rule. Every backend's strided kernels apply these, so an op's math is
//! written once (the CUDA kernels mirror them in `kernels/strided.cu`).

use super::Elem;

/// An elementwise function of one tensor, applied by [`super::Strided::unary`].
///
/// ```
/// use shapeflow_core::backend::UnaryOp;
/// assert_eq!(UnaryOp::Square.apply(3.0f64), 9.0);
/// assert_eq!(UnaryOp::Square.derivative(3.0f64, 9.0), 6.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `|x|` (derivative `sign(x)`, 0 at 0 as PyTorch).
    Abs,
    /// `eˣ`.
    Exp,
    /// `ln x`.
    Log,
    /// `ln(1 + x)`.
    Log1p,
    /// `√x`.
    Sqrt,
    /// `1/√x`.
    Rsqrt,
    /// `1/x`.
    Recip,
    /// `x²`.
    Square,
    /// `xᵖ` for a fixed exponent.
    Powf(f64),
    /// `sin x`.
    Sin,
    /// `cos x`.
    Cos,
    /// `tanh x`.
    Tanh,
    /// `1/(1 + e⁻ˣ)`.
    Sigmoid,
    /// `max(x, 0)` (derivative 0 at 0 as PyTorch).
    Relu,
    /// `x·Φ(x)`, the exact (erf) GELU.
    Gelu,
    /// `x·σ(x)`.
    Silu,
    /// `ln(1 + eˣ)`, linear above 20 as PyTorch's default threshold.
    Softplus,
    /// `x` clamped to `[lo, hi]` (derivative 1 inside, including the ends, as PyTorch).
    Clamp(f64, f64),
    /// The sign, −1, 0 or 1 (derivative 0).
    Sign,
    /// `x + c`.
    AddScalar(f64),
    /// `x · c`.
    MulScalar(f64),
    /// `c − x`.
    RsubScalar(f64),
    /// `c / x`.
    RdivScalar(f64),
    /// `cˣ`.
    RpowScalar(f64),
}

fn c<E: Elem>(v: f64) -> E {
    E::from_f64(v)
}

impl UnaryOp {
    /// The value at `x`.
    #[inline(always)]
    pub fn apply<E: Elem>(self, x: E) -> E {
        let zero = E::zero();
        let one = E::one();
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Abs => x.abs(),
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Log1p => x.ln_1p(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Rsqrt => one / x.sqrt(),
            UnaryOp::Recip => one / x,
            UnaryOp::Square => x * x,
            UnaryOp::Powf(p) => x.powf(c(p)),
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Sigmoid => one / (one + (-x).exp()),
            UnaryOp::Relu => {
                if x > zero || x.is_nan() {
                    x
                } else {
                    zero
                }
            }
            UnaryOp::Gelu => x * c::<E>(0.5) * (one + c::<E>(libm::erf(x.as_f64() / 2f64.sqrt()))),
            UnaryOp::Silu => x / (one + (-x).exp()),
            UnaryOp::Softplus => {
                if x > c(20.0) {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
            UnaryOp::Clamp(lo, hi) => {
                if x.is_nan() {
                    x
                } else {
                    x.max(c(lo)).min(c(hi))
                }
            }
            UnaryOp::Sign => {
                if x > zero {
                    one
                } else if x < zero {
                    -one
                } else {
                    x * zero
                }
            }
            UnaryOp::AddScalar(s) => x + c(s),
            UnaryOp::MulScalar(s) => x * c(s),
            UnaryOp::RsubScalar(s) => c::<E>(s) - x,
            UnaryOp::RdivScalar(s) => c::<E>(s) / x,
            UnaryOp::RpowScalar(s) => c::<E>(s).powf(x),
        }
    }

    /// The derivative `f'(x)`, given the input `x` and the output `y = f(x)`.
    #[inline(always)]
    pub fn derivative<E: Elem>(self, x: E, y: E) -> E {
        let zero = E::zero();
        let one = E::one();
        match self {
            UnaryOp::Neg => -one,
            UnaryOp::Abs => UnaryOp::Sign.apply(x),
            UnaryOp::Sign => zero,
            UnaryOp::Exp => y,
            UnaryOp::Log => one / x,
            UnaryOp::Log1p => one / (one + x),
            UnaryOp::Sqrt => c::<E>(0.5) / y,
            UnaryOp::Rsqrt => c::<E>(-0.5) * y * y * y,
            UnaryOp::Recip => -(y * y),
            UnaryOp::Square => c::<E>(2.0) * x,
            UnaryOp::Powf(p) => c::<E>(p) * x.powf(c(p - 1.0)),
            UnaryOp::Sin => x.cos(),
            UnaryOp::Cos => -x.sin(),
            UnaryOp::Tanh => one - y * y,
            UnaryOp::Sigmoid => y * (one - y),
            UnaryOp::Relu => {
                if x > zero {
                    one
                } else {
                    zero
                }
            }
            UnaryOp::Gelu => {
                let xf = x.as_f64();
                let cdf = 0.5 * (1.0 + libm::erf(xf / 2f64.sqrt()));
                let pdf = (-0.5 * xf * xf).exp() / (2.0 * std::f64::consts::PI).sqrt();
                c(cdf + xf * pdf)
            }
            UnaryOp::Silu => {
                let s = one / (one + (-x).exp());
                s * (one + x * (one - s))
            }
            UnaryOp::Softplus => {
                if x > c(20.0) {
                    one
                } else {
                    one / (one + (-x).exp())
                }
            }
            UnaryOp::Clamp(lo, hi) => {
                if x >= c(lo) && x <= c(hi) {
                    one
                } else {
                    zero
                }
            }
            UnaryOp::AddScalar(_) => one,
            UnaryOp::MulScalar(s) => c(s),
            UnaryOp::RsubScalar(_) => -one,
            UnaryOp::RdivScalar(_) => -y / x,
            UnaryOp::RpowScalar(s) => y * c::<E>(s.ln()),
        }
    }
}

/// An elementwise function of two broadcast tensors, applied by [`super::Strided::binary`].
/// Comparisons give masks of 0 and 1 in the tensor's element type.
///
/// ```
/// use shapeflow_core::backend::BinaryOp;
/// assert_eq!(BinaryOp::Div.apply(1.0f64, 4.0), 0.25);
/// assert_eq!(BinaryOp::Lt.apply(1.0f64, 4.0), 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a · b`.
    Mul,
    /// `a / b`.
    Div,
    /// The larger (NaN if either is NaN, as PyTorch).
    Maximum,
    /// The smaller (NaN if either is NaN).
    Minimum,
    /// `aᵇ`.
    Pow,
    /// `a == b` as 1 or 0.
    Eq,
    /// `a != b`.
    Ne,
    /// `a < b`.
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
}

impl BinaryOp {
    /// The value at `(a, b)`.
    #[inline(always)]
    pub fn apply<E: Elem>(self, a: E, b: E) -> E {
        let mask = |t: bool| if t { E::one() } else { E::zero() };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Maximum => {
                if a.is_nan() || b.is_nan() {
                    E::nan()
                } else {
                    a.max(b)
                }
            }
            BinaryOp::Minimum => {
                if a.is_nan() || b.is_nan() {
                    E::nan()
                } else {
                    a.min(b)
                }
            }
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Eq => mask(a == b),
            BinaryOp::Ne => mask(a != b),
            BinaryOp::Lt => mask(a < b),
            BinaryOp::Le => mask(a <= b),
            BinaryOp::Gt => mask(a > b),
            BinaryOp::Ge => mask(a >= b),
        }
    }

    /// Whether the op's result is a mask (a comparison), which has no gradient.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

/// A reduction along one axis, applied by [`super::Strided::reduce`]. `ArgMax`/`ArgMin` give
/// the index of the first extreme value, as a number in the element type.
///
/// ```
/// use shapeflow_core::backend::ReduceOp;
/// assert_eq!(ReduceOp::Max.reduce(&[1.0f64, 3.0, 2.0]), 3.0);
/// assert_eq!(ReduceOp::ArgMax.reduce(&[1.0f64, 3.0, 2.0]), 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// The sum (accumulated in `f64`).
    Sum,
    /// The largest value (NaN if any is NaN).
    Max,
    /// The smallest value (NaN if any is NaN).
    Min,
    /// The index of the first largest value (of the first NaN, if any).
    ArgMax,
    /// The index of the first smallest value (of the first NaN, if any).
    ArgMin,
}

impl ReduceOp {
    /// The reduction of a run of values given one at a time (`values` yields them in order).
    pub fn reduce_iter<E: Elem>(self, values: impl Iterator<Item = E>) -> E {
        match self {
            ReduceOp::Sum => E::from_f64(values.map(|v| v.as_f64()).sum()),
            ReduceOp::Max | ReduceOp::Min | ReduceOp::ArgMax | ReduceOp::ArgMin => {
                let want_max = matches!(self, ReduceOp::Max | ReduceOp::ArgMax);
                let mut best: Option<(usize, E)> = None;
                for (i, v) in values.enumerate() {
                    best = match best {
                        None => Some((i, v)),
                        Some((_, b)) if b.is_nan() => best,
                        Some(_) if v.is_nan() => Some((i, v)),
                        Some((_, b)) if (want_max && v > b) || (!want_max && v < b) => Some((i, v)),
                        keep => keep,
                    };
                }
                match (self, best) {
                    (_, None) => {
                        if want_max {
                            E::neg_infinity()
                        } else {
                            E::infinity()
                        }
                    }
                    (ReduceOp::Max | ReduceOp::Min, Some((_, v))) => v,
                    (_, Some((i, _))) => E::from_f64(i as f64),
                }
            }
        }
    }

    /// The reduction of a slice (a sum in eight `f64` lanes, added at the end, which the
    /// compiler vectorises; every backend adds in this order).
    pub fn reduce<E: Elem>(self, values: &[E]) -> E {
        if self != ReduceOp::Sum {
            return self.reduce_iter(values.iter().copied());
        }
        let mut lanes = [0f64; 8];
        let chunks = values.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for (l, &v) in lanes.iter_mut().zip(c) {
                *l += v.as_f64();
            }
        }
        let mut total = lanes.iter().sum::<f64>();
        for &v in rest {
            total += v.as_f64();
        }
        E::from_f64(total)
    }
}
