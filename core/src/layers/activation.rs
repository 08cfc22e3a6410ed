//! Elementwise activation layers: `Relu`, `LeakyRelu`, `Sigmoid`, `Tanh`, `Gelu`.
//! One shared implementation; each layer only names its [`Activation`].

use crate::backend::{Activation, Backend};
use crate::error::Result;
use crate::layer::{Init, Layer};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

pub(crate) fn activation_forward<S: Shape, B: Backend>(
    kind: Activation,
    x: &Tensor<S, B>,
) -> Tensor<S, B> {
    let mut y = x.scratch_like();
    B::activation(kind, x.storage(), y.storage_mut());
    y
}

pub(crate) fn activation_backward<S: Shape, B: Backend>(
    kind: Activation,
    saved: &Tensor<S, B>,
    dy: &Tensor<S, B>,
) -> Result<Tensor<S, B>> {
    saved.check_same_dims(dy, "activation backward: saved value and output gradient")?;
    let mut dx = dy.scratch_like();
    if kind.saves_derivative() {
        B::mul(saved.storage(), dy.storage(), dx.storage_mut());
    } else {
        B::activation_backward(kind, saved.storage(), dy.storage(), dx.storage_mut());
    }
    Ok(dx)
}

/// The training forward pass: `f(x)` and what the backward pass needs, the derivative
/// [`Activation::saves_derivative`] or else the output or input
/// ([`Activation::backward_uses_output`]).
pub(crate) fn activation_forward_train<S: Shape, B: Backend>(
    kind: Activation,
    x: &Tensor<S, B>,
) -> (Tensor<S, B>, Tensor<S, B>) {
    if kind.saves_derivative() {
        let (mut y, mut d) = (x.scratch_like(), x.scratch_like());
        B::activation_with_derivative(kind, x.storage(), y.storage_mut(), d.storage_mut());
        return (y, d);
    }
    let y = activation_forward(kind, x);
    let saved = if kind.backward_uses_output() { y.clone() } else { x.clone() };
    (y, saved)
}

macro_rules! activation_layer {
    ($(#[$doc:meta])* $name:ident, |$s:ident| $kind:expr) => {
        $(#[$doc])*
        impl<S: Shape, B: Backend> Layer<S, B> for $name {
            type Output = S;
            type Cache = Tensor<S, B>;
            fn forward(&self, x: &Tensor<S, B>) -> Tensor<S, B> {
                let $s = self;
                activation_forward($kind, x)
            }
            fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<S, B>, Tensor<S, B>) {
                let $s = &*self;
                activation_forward_train($kind, x)
            }
            fn backward(&self, saved: &Tensor<S, B>, dy: &Tensor<S, B>) -> Result<(Tensor<S, B>, Self)> {
                let $s = self;
                Ok((activation_backward($kind, saved, dy)?, self.clone()))
            }
        }
        crate::impl_module_without_params!($name);
    };
}

/// Rectified linear unit, `max(x, 0)`.
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::Relu};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U2,), Cpu>::from_vec(&Cpu::default(), &[2], vec![-1.0, 3.0]).unwrap();
/// assert_eq!(Relu.forward(&x).to_vec(), vec![0.0, 3.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Relu;
activation_layer!(Relu, |_s| Activation::Relu);

/// Leaky ReLU: `x` for `x > 0`, else `negative_slope · x` (PyTorch's default slope 0.01).
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::LeakyRelu};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U1,), Cpu>::from_vec(&Cpu::default(), &[1], vec![-2.0]).unwrap();
/// assert_eq!(LeakyRelu::new(0.1).forward(&x).to_vec(), vec![-0.2]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu {
    /// Slope for negative inputs.
    pub negative_slope: f64,
}
impl LeakyRelu {
    /// A leaky ReLU with the given negative slope.
    pub fn new(negative_slope: f64) -> Self {
        LeakyRelu { negative_slope }
    }
}
impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu { negative_slope: 0.01 }
    }
}
activation_layer!(LeakyRelu, |s| Activation::LeakyRelu(s.negative_slope));

/// Logistic sigmoid, `1 / (1 + e^-x)`.
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::Sigmoid};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U1,), Cpu>::from_vec(&Cpu::default(), &[1], vec![0.0]).unwrap();
/// assert_eq!(Sigmoid.forward(&x).to_vec(), vec![0.5]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;
activation_layer!(Sigmoid, |_s| Activation::Sigmoid);

/// Hyperbolic tangent.
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::Tanh};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U1,), Cpu>::from_vec(&Cpu::default(), &[1], vec![0.0]).unwrap();
/// assert_eq!(Tanh.forward(&x).to_vec(), vec![0.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Tanh;
activation_layer!(Tanh, |_s| Activation::Tanh);

/// Gaussian error linear unit, exact form `x · Φ(x)` (PyTorch's `GELU()` default).
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::Gelu};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U1,), Cpu>::from_vec(&Cpu::default(), &[1], vec![0.0]).unwrap();
/// assert_eq!(Gelu.forward(&x).to_vec(), vec![0.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Gelu;
activation_layer!(Gelu, |_s| Activation::Gelu);

/// GELU's tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`: PyTorch's
/// `GELU(approximate='tanh')` (GPT-2's).
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::GeluTanh};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U1,), Cpu>::from_vec(&Cpu::default(), &[1], vec![1.0]).unwrap();
/// assert!((GeluTanh.forward(&x).to_vec()[0] - 0.841192).abs() < 1e-5);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GeluTanh;
activation_layer!(GeluTanh, |_s| Activation::GeluTanh);

macro_rules! init_by_default {
    ($($t:ty),+) => {$(
        impl<B: Backend> Init<B> for $t {
            fn init(_: &B, _: &mut Rng) -> Self {
                Self::default()
            }
        }
    )+};
}
init_by_default!(Relu, LeakyRelu, Sigmoid, Tanh, Gelu, GeluTanh);
pub(crate) use init_by_default;
