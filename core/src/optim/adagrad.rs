//! Adagrad (PyTorch's `torch.optim.Adagrad` update rule: learning-rate decay, initial
//! accumulator value, L2 weight decay), fused per parameter.

use std::marker::PhantomData;

use crate::backend::{AdagradStep, Backend};
use crate::error::Result;
use crate::module::Module;

use super::GradientsFor;
use super::state::for_each_param;

/// Adagrad hyper-parameters (PyTorch's defaults).
///
/// ```
/// let c = shapeflow_core::optim::AdagradConfig::default();
/// assert_eq!((c.lr, c.eps, c.initial_accumulator_value), (0.01, 1e-10, 0.0));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AdagradConfig {
    /// Learning rate.
    pub lr: f64,
    /// Step `t` uses `lr / (1 + (t − 1) · lr_decay)`.
    pub lr_decay: f64,
    /// L2 weight decay, added to the gradient.
    pub weight_decay: f64,
    /// The starting value of every squared-gradient sum.
    pub initial_accumulator_value: f64,
    /// Added to the denominator (after the square root).
    pub eps: f64,
}

impl AdagradConfig {
    /// An `Err` for what PyTorch refuses: a learning rate, its decay, the weight decay, the
    /// initial accumulator value or epsilon below 0 or not finite.
    ///
    /// ```
    /// use shapeflow_core::optim::AdagradConfig;
    /// assert!(AdagradConfig { eps: f64::NAN, ..Default::default() }.check().is_err());
    /// ```
    pub fn check(&self) -> Result<()> {
        use super::check::at_least_zero;
        at_least_zero("Adagrad", "lr", self.lr)?;
        at_least_zero("Adagrad", "lr_decay", self.lr_decay)?;
        at_least_zero("Adagrad", "weight_decay", self.weight_decay)?;
        at_least_zero("Adagrad", "initial_accumulator_value", self.initial_accumulator_value)?;
        at_least_zero("Adagrad", "eps", self.eps)
    }
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 0.01,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

/// The Adagrad optimizer for a model of type `M`; keeps the squared-gradient `sum` per
/// parameter (PyTorch's state name).
///
/// ```
/// use shapeflow_core::{Init, Rng, layers::Linear, optim::{Adagrad, AdagradConfig}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let grads = fc.clone();
/// let mut opt = Adagrad::new(&fc, AdagradConfig::default());
/// opt.step(&mut fc, &grads).unwrap();
/// assert_eq!(opt.steps(), 1);
/// ```
pub struct Adagrad<M, B: Backend> {
    config: AdagradConfig,
    step: u64,
    sum: [Vec<B::Storage>; 1],
    path: String,
    _model: PhantomData<fn(&M)>,
}

impl<M: Module<B>, B: Backend> Adagrad<M, B> {
    /// An Adagrad optimizer for `model`, every sum at `initial_accumulator_value`.
    pub fn new(model: &M, config: AdagradConfig) -> Self {
        let mut sum = Vec::new();
        let init = <B::Elem as crate::Elem>::from_f64(config.initial_accumulator_value);
        model.visit_params(&mut String::new(), &mut |_, dims, s| {
            let mut b = B::zeros_like(s, dims.iter().product());
            B::fill(&mut b, init);
            sum.push(b);
        });
        Adagrad { config, step: 0, sum: [sum], path: String::new(), _model: PhantomData }
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
        let c = self.config;
        let hp = AdagradStep {
            lr: c.lr,
            lr_decay: c.lr_decay,
            eps: c.eps,
            weight_decay: c.weight_decay,
            step: self.step,
        };
        for_each_param(model, grads, &mut self.sum, &mut self.path, |p, g, [sum], i| {
            if let Some(s) = sum.get_mut(i) {
                B::adagrad_step(p, g, s, hp);
            }
        })
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }
}

impl<M: Module<B>, B: Backend> super::Optimizer<M> for Adagrad<M, B> {
    fn step(&mut self, model: &mut M, grads: &M) -> Result<()> {
        Adagrad::step(self, model, grads)
    }
    fn lr(&self) -> f64 {
        self.config.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
    fn state_entries(&self) -> Vec<crate::checkpoint::Entry> {
        super::state::buffer_entries::<B>(self.step, &[("sum", &self.sum[0])])
    }
    fn load_state(
        &mut self,
        entries: &std::collections::HashMap<String, crate::checkpoint::Entry>,
    ) -> std::result::Result<(), String> {
        let [sum] = &mut self.sum;
        self.step = super::state::load_buffers::<B>(entries, &mut [("sum", sum)])?;
        Ok(())
    }
    fn steps(&self) -> u64 {
        self.step
    }
    fn set_steps(&mut self, steps: u64) {
        self.step = steps;
    }
}
