//! `Dropout`: zeroes elements with probability `p` in training, scaling the rest by `1/(1-p)`;
//! the identity in inference.

use crate::backend::Backend;
use crate::error::Result;
use crate::layer::{Init, Layer};
use crate::rng::{Rng, mix64};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Dropout with probability `p` (PyTorch semantics: inverted dropout).
///
/// `forward` (inference) passes values through; `forward_train` draws a fresh mask from a seeded,
/// counter-based generator, so a run is reproducible.
///
/// ```
/// use shapeflow_core::{Layer, Tensor, layers::Dropout};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(typenum::U4,), Cpu>::ones(&Cpu::default(), &[4]).unwrap();
/// let mut d = Dropout::new(0.5, 1);
/// assert_eq!(d.forward(&x).to_vec(), vec![1.0; 4]);
/// let (y, _) = d.forward_train(&x);
/// assert!(y.to_vec().iter().all(|&v| v == 0.0 || v == 2.0));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dropout {
    /// Probability of zeroing an element, in `[0, 1)`.
    pub p: f64,
    seed: u64,
    calls: u64,
}

impl Dropout {
    /// A dropout layer with probability `p` (clamped to `[0, 1)`) and a seed for its masks.
    pub fn new(p: f64, seed: u64) -> Self {
        let p = if p.is_finite() { p.clamp(0.0, 0.999_999) } else { 0.0 };
        Dropout { p, seed, calls: 0 }
    }
}

impl Dropout {
    /// The seed of the next training mask (advances the counter).
    pub(crate) fn next_mask_seed(&mut self) -> u64 {
        let seed = mix64(self.seed ^ mix64(self.calls));
        self.calls += 1;
        seed
    }
}

impl<B: Backend> Init<B> for Dropout {
    fn init(_: &B, rng: &mut Rng) -> Self {
        Dropout::new(0.5, rng.next_u64())
    }
}

impl<S: Shape, B: Backend> Layer<S, B> for Dropout {
    type Output = S;
    type Cache = Tensor<S, B>;
    fn forward(&self, x: &Tensor<S, B>) -> Tensor<S, B> {
        x.clone()
    }
    fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<S, B>, Tensor<S, B>) {
        let mut mask = x.scratch_like();
        let seed = self.next_mask_seed();
        B::dropout_mask(mask.storage_mut(), self.p, seed);
        let mut y = x.scratch_like();
        B::mul(x.storage(), mask.storage(), y.storage_mut());
        (y, mask)
    }
    fn backward(&self, mask: &Tensor<S, B>, dy: &Tensor<S, B>) -> Result<(Tensor<S, B>, Self)> {
        mask.check_same_dims(dy, "Dropout backward")?;
        let mut dx = dy.scratch_like();
        B::mul(dy.storage(), mask.storage(), dx.storage_mut());
        Ok((dx, *self))
    }
}
impl<B: Backend> crate::Module<B> for Dropout {
    fn visit_params(&self, _: &mut String, _: &mut crate::module::VisitFn<'_, B>) {}
    fn visit_params_mut(&mut self, _: &mut String, _: &mut crate::module::VisitMutFn<'_, B>) {}
    fn visit_params_with_grads(
        &mut self,
        _: &Self,
        _: &mut String,
        _: &mut crate::module::VisitGradsFn<'_, B>,
    ) {
    }
    fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
        crate::module::with_field(path, "seed", |p| f(p, &mut self.seed));
        crate::module::with_field(path, "calls", |p| f(p, &mut self.calls));
    }
}

/// Channel dropout: zeroes whole channels of `[batch, C, …]` inputs with probability `p`,
/// scaling the kept ones by `1/(1-p)` (PyTorch's `nn.Dropout2d`); the identity in inference.
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor, layers::Dropout2d};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U2, U4};
/// let x = Tensor::<(Dyn, U4, U2, U2), Cpu>::ones(&Cpu::default(), &[1, 4, 2, 2]).unwrap();
/// let (y, _) = Dropout2d::new(0.5, 3).forward_train(&x);
/// for plane in y.to_vec().chunks(4) {
///     assert!(plane.iter().all(|&v| v == plane[0]));
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dropout2d {
    inner: Dropout,
}

impl Dropout2d {
    /// Channel dropout with probability `p` and a seed for its masks.
    pub fn new(p: f64, seed: u64) -> Self {
        Dropout2d { inner: Dropout::new(p, seed) }
    }
    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.inner.p
    }
}

impl<B: Backend> Init<B> for Dropout2d {
    fn init(_: &B, rng: &mut Rng) -> Self {
        Dropout2d::new(0.5, rng.next_u64())
    }
}
impl<B: Backend> crate::Module<B> for Dropout2d {
    fn visit_params(&self, _: &mut String, _: &mut crate::module::VisitFn<'_, B>) {}
    fn visit_params_mut(&mut self, _: &mut String, _: &mut crate::module::VisitMutFn<'_, B>) {}
    fn visit_params_with_grads(
        &mut self,
        _: &Self,
        _: &mut String,
        _: &mut crate::module::VisitGradsFn<'_, B>,
    ) {
    }
    fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
        <Dropout as crate::Module<B>>::visit_rng(&mut self.inner, path, f);
    }
}

/// The channel mask (one value per `(sample, channel)`) and the plane size.
#[derive(Clone, Debug)]
pub struct ChannelMask<B: Backend> {
    mask: B::Storage,
    rows: usize,
    inner: usize,
}

impl<S: Shape, B: Backend> Layer<S, B> for Dropout2d {
    type Output = S;
    type Cache = ChannelMask<B>;
    fn forward(&self, x: &Tensor<S, B>) -> Tensor<S, B> {
        x.clone()
    }
    fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<S, B>, ChannelMask<B>) {
        let d = x.dims();
        let rows = d.iter().take(2).product::<usize>();
        let inner = d.iter().skip(2).product::<usize>();
        let mut mask = B::scratch_like(x.storage(), rows);
        let seed = self.inner.next_mask_seed();
        B::dropout_mask(&mut mask, self.inner.p, seed);
        let mut y = x.scratch_like();
        B::mul_rows_broadcast(x.storage(), &mask, y.storage_mut(), rows, inner);
        (y, ChannelMask { mask, rows, inner })
    }
    fn backward(&self, m: &ChannelMask<B>, dy: &Tensor<S, B>) -> Result<(Tensor<S, B>, Self)> {
        if dy.len() != m.rows * m.inner {
            return Err(crate::Error::Shape(format!(
                "Dropout2d backward: gradient of {} elements, the forward pass had {}",
                dy.len(),
                m.rows * m.inner
            )));
        }
        let mut dx = dy.scratch_like();
        B::mul_rows_broadcast(dy.storage(), &m.mask, dx.storage_mut(), m.rows, m.inner);
        Ok((dx, *self))
    }
}
