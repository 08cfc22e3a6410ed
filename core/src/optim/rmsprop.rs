//! RMSprop (PyTorch's `torch.optim.RMSprop` update rule: smoothing `alpha`, optional centring
//! and momentum, L2 weight decay), fused per parameter.

use std::marker::PhantomData;

use crate::backend::{Backend, RmspropState, RmspropStep};
use crate::error::Result;
use crate::module::Module;

use super::GradientsFor;
use super::state::{for_each_param, zero_buffers};

/// RMSprop hyper-parameters (PyTorch's defaults).
///
/// ```
/// let c = shapeflow_core::optim::RmspropConfig { momentum: 0.9, ..Default::default() };
/// assert_eq!((c.lr, c.alpha, c.eps), (0.01, 0.99, 1e-8));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RmspropConfig {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the squared-gradient average.
    pub alpha: f64,
    /// Added to the denominator (after the square root).
    pub eps: f64,
    /// L2 weight decay, added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor (0: no momentum buffer).
    pub momentum: f64,
    /// Normalise by an estimate of the gradient's variance instead of its second moment.
    pub centered: bool,
}

impl RmspropConfig {
    /// An `Err` for what PyTorch refuses: a learning rate, alpha, epsilon, momentum or weight
    /// decay below 0 or not finite.
    ///
    /// ```
    /// use shapeflow_core::optim::RmspropConfig;
    /// assert!(RmspropConfig { lr: -1.0, ..Default::default() }.check().is_err());
    /// ```
    pub fn check(&self) -> Result<()> {
        use super::check::at_least_zero;
        at_least_zero("Rmsprop", "lr", self.lr)?;
        at_least_zero("Rmsprop", "alpha", self.alpha)?;
        at_least_zero("Rmsprop", "eps", self.eps)?;
        at_least_zero("Rmsprop", "momentum", self.momentum)?;
        at_least_zero("Rmsprop", "weight_decay", self.weight_decay)
    }
}

impl Default for RmspropConfig {
    fn default() -> Self {
        RmspropConfig {
            lr: 0.01,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

/// The RMSprop optimizer for a model of type `M`. Keeps `square_avg` per parameter, plus
/// `grad_avg` when centred and `momentum_buffer` with momentum (PyTorch's state names).
///
/// ```
/// use shapeflow_core::{Init, Rng, layers::Linear, optim::{Rmsprop, RmspropConfig}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
/// let grads = fc.clone();
/// let mut opt = Rmsprop::new(&fc, RmspropConfig::default());
/// opt.step(&mut fc, &grads).unwrap();
/// assert_eq!(opt.steps(), 1);
/// ```
pub struct Rmsprop<M, B: Backend> {
    config: RmspropConfig,
    step: u64,
    square_avg: [Vec<B::Storage>; 1],
    grad_avg: Vec<B::Storage>,
    momentum_buffer: Vec<B::Storage>,
    path: String,
    _model: PhantomData<fn(&M)>,
}

impl<M: Module<B>, B: Backend> Rmsprop<M, B> {
    /// An RMSprop optimizer for `model`, its buffers zero.
    pub fn new(model: &M, config: RmspropConfig) -> Self {
        let optional = |on: bool| if on { zero_buffers(model) } else { Vec::new() };
        Rmsprop {
            config,
            step: 0,
            square_avg: [zero_buffers(model)],
            grad_avg: optional(config.centered),
            momentum_buffer: optional(config.momentum > 0.0),
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
        let c = self.config;
        let hp = RmspropStep {
            lr: c.lr,
            alpha: c.alpha,
            eps: c.eps,
            weight_decay: c.weight_decay,
            momentum: c.momentum,
            centered: c.centered,
        };
        let (grad_avg, momentum) = (&mut self.grad_avg, &mut self.momentum_buffer);
        for_each_param(model, grads, &mut self.square_avg, &mut self.path, |p, g, [sq], i| {
            let Some(square_avg) = sq.get_mut(i) else { return };
            let grad_avg = grad_avg.get_mut(i).filter(|b| B::len(b) == B::len(p));
            let momentum_buffer = momentum.get_mut(i).filter(|b| B::len(b) == B::len(p));
            B::rmsprop_step(p, g, RmspropState { square_avg, grad_avg, momentum_buffer }, hp);
        })
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }
}

impl<M: Module<B>, B: Backend> super::Optimizer<M> for Rmsprop<M, B> {
    fn step(&mut self, model: &mut M, grads: &M) -> Result<()> {
        Rmsprop::step(self, model, grads)
    }
    fn lr(&self) -> f64 {
        self.config.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
    fn state_entries(&self) -> Vec<crate::checkpoint::Entry> {
        super::state::buffer_entries::<B>(
            self.step,
            &[
                ("square_avg", &self.square_avg[0]),
                ("grad_avg", &self.grad_avg),
                ("momentum_buffer", &self.momentum_buffer),
            ],
        )
    }
    fn load_state(
        &mut self,
        entries: &std::collections::HashMap<String, crate::checkpoint::Entry>,
    ) -> std::result::Result<(), String> {
        let [sq] = &mut self.square_avg;
        self.step = super::state::load_buffers::<B>(
            entries,
            &mut [
                ("square_avg", sq),
                ("grad_avg", &mut self.grad_avg),
                ("momentum_buffer", &mut self.momentum_buffer),
            ],
        )?;
        Ok(())
    }
    fn steps(&self) -> u64 {
        self.step
    }
    fn set_steps(&mut self, steps: u64) {
        self.step = steps;
    }
}
