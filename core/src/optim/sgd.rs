//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay
//! (PyTorch's `torch.optim.SGD` rules, fused per parameter).

use std::marker::PhantomData;

use crate::backend::{Backend, SgdStep};
use crate::error::Result;
use crate::module::Module;

use super::GradientsFor;
use super::state::{for_each_param, zero_buffers};

/// SGD hyper-parameters (PyTorch's defaults apart from the learning rate, which it requires).
///
/// ```
/// let c = shapeflow_core::optim::SgdConfig { lr: 0.1, momentum: 0.9, nesterov: true, ..Default::default() };
/// assert_eq!(c.dampening, 0.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Dampening for momentum.
    pub dampening: f64,
    /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`, as in PyTorch).
    pub nesterov: bool,
    /// L2 weight decay.
    pub weight_decay: f64,
}

impl SgdConfig {
    /// An `Err` for what PyTorch refuses: a learning rate, momentum, dampening or weight decay
    /// below 0 or not finite, Nesterov momentum without momentum or with dampening.
    ///
    /// ```
    /// use shapeflow_core::optim::SgdConfig;
    /// assert!(SgdConfig::default().check().is_ok());
    /// let bad = SgdConfig { nesterov: true, ..Default::default() };
    /// assert!(bad.check().unwrap_err().to_string().contains("Nesterov"));
    /// ```
    pub fn check(&self) -> Result<()> {
        use super::check::at_least_zero;
        at_least_zero("Sgd", "lr", self.lr)?;
        at_least_zero("Sgd", "momentum", self.momentum)?;
        at_least_zero("Sgd", "dampening", self.dampening)?;
        at_least_zero("Sgd", "weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(crate::Error::Config(format!(
                "Sgd: Nesterov momentum needs momentum > 0 and dampening = 0 (momentum {}, dampening {})",
                self.momentum, self.dampening
            )));
        }
        Ok(())
    }
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig { lr: 1e-2, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }
}

/// The SGD optimizer for a model of type `M`.
///
/// ```
/// use shapeflow_core::{Init, Rng, layers::Linear, optim::{Sgd, SgdConfig}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let grads = fc.clone();
/// let mut opt = Sgd::new(&fc, SgdConfig { lr: 0.1, ..Default::default() });
/// opt.step(&mut fc, &grads).unwrap();
/// ```
pub struct Sgd<M, B: Backend> {
    config: SgdConfig,
    steps: u64,
    momentum: [Vec<B::Storage>; 1],
    path: String,
    _model: PhantomData<fn(&M)>,
}

impl<M: Module<B>, B: Backend> Sgd<M, B> {
    /// SGD for `model`. Its configuration is checked before every step ([`SgdConfig::check`]).
    pub fn new(model: &M, config: SgdConfig) -> Self {
        let momentum = if config.momentum != 0.0 { zero_buffers(model) } else { Vec::new() };
        Sgd { config, steps: 0, momentum: [momentum], path: String::new(), _model: PhantomData }
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
        let hp = SgdStep {
            lr: self.config.lr,
            momentum: self.config.momentum,
            dampening: self.config.dampening,
            nesterov: self.config.nesterov,
            weight_decay: self.config.weight_decay,
            first: self.steps == 0,
        };
        self.steps += 1;
        if self.config.momentum == 0.0 {
            let mut none: [Vec<B::Storage>; 0] = [];
            return for_each_param(model, grads, &mut none, &mut self.path, |p, g, _, _| {
                B::sgd_step(p, g, None, hp)
            });
        }
        for_each_param(model, grads, &mut self.momentum, &mut self.path, |p, g, [buf], i| {
            B::sgd_step(p, g, buf.get_mut(i), hp);
        })
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

impl<M: Module<B>, B: Backend> super::Optimizer<M> for Sgd<M, B> {
    fn step(&mut self, model: &mut M, grads: &M) -> Result<()> {
        Sgd::step(self, model, grads)
    }
    fn lr(&self) -> f64 {
        self.config.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
    fn state_entries(&self) -> Vec<crate::checkpoint::Entry> {
        super::state::buffer_entries::<B>(self.steps, &[("momentum_buffer", &self.momentum[0])])
    }
    fn load_state(
        &mut self,
        entries: &std::collections::HashMap<String, crate::checkpoint::Entry>,
    ) -> std::result::Result<(), String> {
        let [buf] = &mut self.momentum;
        self.steps = super::state::load_buffers::<B>(entries, &mut [("momentum_buffer", buf)])?;
        Ok(())
    }
    fn steps(&self) -> u64 {
        self.steps
    }
    fn set_steps(&mut self, steps: u64) {
        self.steps = steps;
    }
}
