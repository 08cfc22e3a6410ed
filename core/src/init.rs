//! Weight initialisers (PyTorch's `torch.nn.init`): Xavier/Glorot and Kaiming/He, uniform or
//! normal, plus zeros, constants, uniform and normal fills. Fans follow PyTorch: for sizes
//! `[out, in, k…]`, `fan_in = in·Πk` and `fan_out = out·Πk`.

use crate::backend::{Backend, Elem};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Which fan Kaiming initialisation preserves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
///
/// ```
/// use shapeflow_core::init::FanMode;
/// assert_ne!(FanMode::FanIn, FanMode::FanOut);
/// ```
pub enum FanMode {
    /// Preserve the variance of activations (forward pass), PyTorch's default.
    FanIn,
    /// Preserve the variance of gradients (backward pass).
    FanOut,
}

/// `(fan_in, fan_out)` of a parameter; an `Err` below rank 2, as in PyTorch.
///
/// ```
/// use shapeflow_core::init::fans;
/// assert_eq!(fans(&[16, 6, 5, 5]).unwrap(), (150, 400));
/// ```
pub fn fans(dims: &[usize]) -> Result<(usize, usize)> {
    if dims.len() < 2 {
        return Err(Error::Shape(format!(
            "fan in and fan out need a tensor of rank 2 or more, got sizes {dims:?}"
        )));
    }
    let receptive: usize = dims[2..].iter().product();
    Ok((dims[1] * receptive, dims[0] * receptive))
}

/// The recommended gain for a nonlinearity (`"linear"`, `"sigmoid"`, `"tanh"`, `"relu"`,
/// `"leaky_relu"` with its slope), as `torch.nn.init.calculate_gain`.
///
/// ```
/// assert_eq!(shapeflow_core::init::gain("relu", 0.0), 2f64.sqrt());
/// ```
pub fn gain(nonlinearity: &str, negative_slope: f64) -> f64 {
    match nonlinearity {
        "tanh" => 5.0 / 3.0,
        "relu" => 2f64.sqrt(),
        "leaky_relu" => (2.0 / (1.0 + negative_slope * negative_slope)).sqrt(),
        "selu" => 0.75,
        _ => 1.0,
    }
}

fn fill<S: Shape, B: Backend>(t: &mut Tensor<S, B>, mut sample: impl FnMut() -> f64) -> Result<()> {
    let data: Vec<B::Elem> = (0..t.len()).map(|_| B::Elem::from_f64(sample())).collect();
    *t = t.from_vec_like(t.dims(), data)?;
    Ok(())
}

/// Uniform on `[lo, hi)`.
pub fn uniform<S: Shape, B: Backend>(
    t: &mut Tensor<S, B>,
    lo: f64,
    hi: f64,
    rng: &mut Rng,
) -> Result<()> {
    fill(t, || rng.uniform_in(lo, hi))
}

/// Normal with the given mean and standard deviation.
pub fn normal<S: Shape, B: Backend>(
    t: &mut Tensor<S, B>,
    mean: f64,
    std: f64,
    rng: &mut Rng,
) -> Result<()> {
    fill(t, || mean + std * rng.normal())
}

/// Every element set to `value`.
///
/// ```
/// use shapeflow_core::{Tensor, init};
/// use shapeflow_cpu::Cpu;
/// let mut t = Tensor::<(typenum::U2,), Cpu>::ones(&Cpu::default(), &[2]).unwrap();
/// init::constant(&mut t, 0.5);
/// assert_eq!(t.to_vec(), vec![0.5, 0.5]);
/// init::zeros(&mut t);
/// assert_eq!(t.to_vec(), vec![0.0, 0.0]);
/// ```
pub fn constant<S: Shape, B: Backend>(t: &mut Tensor<S, B>, value: f64) {
    B::fill(t.storage_mut(), B::Elem::from_f64(value));
}

/// Every element set to zero.
pub fn zeros<S: Shape, B: Backend>(t: &mut Tensor<S, B>) {
    constant(t, 0.0);
}

/// Xavier/Glorot uniform: `U(−a, a)`, `a = gain·√(6/(fan_in + fan_out))`.
///
/// ```
/// use shapeflow_core::{Init, Rng, init, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let mut fc = Linear::<typenum::U100, typenum::U50, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
/// init::xavier_uniform(&mut fc.weight, 1.0, &mut Rng::new(1)).unwrap();
/// let a = (6.0f32 / 150.0).sqrt();
/// assert!(fc.weight.to_vec().iter().all(|v| v.abs() <= a));
/// ```
pub fn xavier_uniform<S: Shape, B: Backend>(
    t: &mut Tensor<S, B>,
    gain: f64,
    rng: &mut Rng,
) -> Result<()> {
    let (fi, fo) = fans(t.dims())?;
    let a = gain * (6.0 / (fi + fo) as f64).sqrt();
    uniform(t, -a, a, rng)
}

/// Xavier/Glorot normal: `N(0, std²)`, `std = gain·√(2/(fan_in + fan_out))`.
pub fn xavier_normal<S: Shape, B: Backend>(
    t: &mut Tensor<S, B>,
    gain: f64,
    rng: &mut Rng,
) -> Result<()> {
    let (fi, fo) = fans(t.dims())?;
    normal(t, 0.0, gain * (2.0 / (fi + fo) as f64).sqrt(), rng)
}

fn kaiming_std(dims: &[usize], gain: f64, mode: FanMode) -> Result<f64> {
    let (fi, fo) = fans(dims)?;
    let fan = if mode == FanMode::FanIn { fi } else { fo };
    Ok(gain / (fan.max(1) as f64).sqrt())
}

/// Kaiming/He uniform: `U(−b, b)`, `b = gain·√(3/fan)` (use `gain("relu", 0.0)` for ReLU nets).
///
/// ```
/// use shapeflow_core::{Init, Rng, init, layers::Conv2d};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U3, U8};
/// let mut conv = Conv2d::<U3, U8, U3, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
/// init::kaiming_uniform(&mut conv.weight, init::gain("relu", 0.0), init::FanMode::FanIn, &mut Rng::new(1)).unwrap();
/// if let Some(bias) = &mut conv.bias { init::zeros(bias); }
/// ```
pub fn kaiming_uniform<S: Shape, B: Backend>(
    t: &mut Tensor<S, B>,
    gain: f64,
    mode: FanMode,
    rng: &mut Rng,
) -> Result<()> {
    let b = 3f64.sqrt() * kaiming_std(t.dims(), gain, mode)?;
    uniform(t, -b, b, rng)
}

/// Kaiming/He normal: `N(0, std²)`, `std = gain/√fan`.
pub fn kaiming_normal<S: Shape, B: Backend>(
    t: &mut Tensor<S, B>,
    gain: f64,
    mode: FanMode,
    rng: &mut Rng,
) -> Result<()> {
    let std = kaiming_std(t.dims(), gain, mode)?;
    normal(t, 0.0, std, rng)
}
