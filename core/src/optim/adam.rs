//! Adam and AdamW (PyTorch's `torch.optim.Adam` / `AdamW` update rules, fused per parameter).

use std::marker::PhantomData;

use crate::backend::{AdamStep, Backend};
use crate::error::Result;
use crate::module::Module;

use super::GradientsFor;
use super::state::{for_each_param, zero_buffers};

/// Adam / AdamW hyper-parameters (PyTorch's defaults).
///
/// ```
/// let c = shapeflow_core::optim::AdamConfig { lr: 3e-4, ..Default::default() };
/// assert_eq!(c.betas, (0.9, 0.999));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay: L2 added to the gradient (Adam) or decoupled (AdamW).
    pub weight_decay: f64,
}

impl AdamConfig {
    /// An `Err` for what PyTorch refuses: a learning rate, epsilon or weight decay below 0 or
    /// not finite, a beta outside `[0, 1)`.
    ///
    /// ```
    /// use shapeflow_core::optim::AdamConfig;
    /// assert!(AdamConfig::default().check().is_ok());
    /// assert!(AdamConfig { betas: (0.9, 1.0), ..Default::default() }.check().is_err());
    /// ```
    pub fn check(&self) -> Result<()> {
        use super::check::{at_least_zero, below_one};
        at_least_zero("Adam", "lr", self.lr)?;
        at_least_zero("Adam", "eps", self.eps)?;
        at_least_zero("Adam", "weight_decay", self.weight_decay)?;
        below_one("Adam", "betas.0", self.betas.0)?;
        below_one("Adam", "betas.1", self.betas.1)
    }
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0 }
    }
}

/// The Adam optimizer for a model of type `M`.
///
/// ```
/// use shapeflow_core::{Init, Module, Rng, layers::Linear, optim::{Adam, AdamConfig}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let grads = fc.clone();
/// let mut opt = Adam::new(&fc, AdamConfig::default());
/// opt.step(&mut fc, &grads).unwrap();
/// assert_eq!(opt.steps(), 1);
/// ```
pub struct Adam<M, B: Backend> {
    config: AdamConfig,
    decoupled: bool,
    step: u64,
    moments: [Vec<B::Storage>; 2],
    path: String,
    _model: PhantomData<fn(&M)>,
}

impl<M: Module<B>, B: Backend> Adam<M, B> {
    /// Adam (weight decay, if any, added to the gradient as L2).
    pub fn new(model: &M, config: AdamConfig) -> Self {
        Self::build(model, config, false)
    }

    /// AdamW: weight decay applied directly to the parameters (PyTorch's default there is 0.01).
    ///
    /// ```
    /// use shapeflow_core::{Init, Rng, layers::Linear, optim::{Adam, AdamConfig}};
    /// use shapeflow_cpu::Cpu;
    /// let fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
    /// let opt = Adam::adamw(&fc, AdamConfig { weight_decay: 0.01, ..Default::default() });
    /// assert_eq!(opt.lr(), 1e-3);
    /// ```
    pub fn adamw(model: &M, config: AdamConfig) -> Self {
        Self::build(model, config, true)
    }

    fn build(model: &M, config: AdamConfig, decoupled: bool) -> Self {
        Adam {
            config,
            decoupled,
            step: 0,
            moments: [zero_buffers(model), zero_buffers(model)],
            path: String::new(),
            _model: PhantomData,
        }
    }

    /// Applies one update to every parameter of `model` from `grads` (both of the type the
    /// optimizer was built for; another model type does not compile).
    pub fn step<X: ?Sized, G: GradientsFor<M, X>>(
        &mut self,
        model: &mut X,
        grads: G,
    ) -> Result<()> {
        self.config.check()?;
        let (model, grads) = (G::model(model), grads.gradients());
        self.step += 1;
        let hp = AdamStep {
            lr: self.config.lr,
            beta1: self.config.betas.0,
            beta2: self.config.betas.1,
            eps: self.config.eps,
            weight_decay: self.config.weight_decay,
            decoupled: self.decoupled,
            step: self.step,
        };
        for_each_param(model, grads, &mut self.moments, &mut self.path, |p, g, [m, v], i| {
            if let (Some(m), Some(v)) = (m.get_mut(i), v.get_mut(i)) {
                B::adam_step(p, g, m, v, hp);
            }
        })
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.config.lr
    }

    /// Sets the learning rate (for schedulers).
    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}

impl<M: Module<B>, B: Backend> super::Optimizer<M> for Adam<M, B> {
    fn step(&mut self, model: &mut M, grads: &M) -> Result<()> {
        Adam::step(self, model, grads)
    }
    fn lr(&self) -> f64 {
        self.config.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
    fn state_entries(&self) -> Vec<crate::checkpoint::Entry> {
        let [m, v] = &self.moments;
        super::state::buffer_entries::<B>(self.step, &[("exp_avg", m), ("exp_avg_sq", v)])
    }
    fn load_state(
        &mut self,
        entries: &std::collections::HashMap<String, crate::checkpoint::Entry>,
    ) -> std::result::Result<(), String> {
        let [m, v] = &mut self.moments;
        self.step =
            super::state::load_buffers::<B>(entries, &mut [("exp_avg", m), ("exp_avg_sq", v)])?;
        Ok(())
    }
    fn steps(&self) -> u64 {
        self.step
    }
    fn set_steps(&mut self, steps: u64) {
        self.step = steps;
    }
}
