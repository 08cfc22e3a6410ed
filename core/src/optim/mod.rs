//! Optimizers: SGD (momentum, Nesterov, weight decay), Adam / AdamW, RMSprop and Adagrad, with
//! PyTorch's update rules. An optimizer is typed by the model it was built for, so it cannot step another model.

mod adagrad;
mod adam;
mod check;
mod clip;
mod rmsprop;
mod schedule;
mod sgd;
mod state;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use rmsprop::{Rmsprop, RmspropConfig};
pub use schedule::{CosineAnnealingLr, ExponentialLr, LinearLr, LrSchedule, OneCycleLr, StepLr};
pub use sgd::{Sgd, SgdConfig};

use crate::error::Result;
use crate::operand::Is;

/// Implemented by `&M` (the gradients argument of `step`) when the optimizer was built for `M`
/// and the model `X` it steps is an `M` too: an optimizer given another model type, or the
/// gradients of another model, is one short error naming all three types (see
/// [`crate::operand`]).
///
/// ```
/// use shapeflow_core::optim::GradientsFor;
/// fn steps<M, X: ?Sized, G: GradientsFor<M, X>>(_: &mut X, _: G) {}
/// steps::<u8, _, _>(&mut 1, &2);
/// ```
#[diagnostic::on_unimplemented(
    message = "this optimizer steps a `{M}`; it was given a model `{X}` and gradients `{Self}`",
    label = "the model and its gradients must be of the type the optimizer was built for"
)]
pub trait GradientsFor<M, X: ?Sized> {
    /// The model, as the optimizer's type.
    fn model(model: &mut X) -> &mut M;
    /// The gradients, as the optimizer's type.
    fn gradients(&self) -> &M;
}

#[diagnostic::do_not_recommend]
impl<M, X: ?Sized + Is<M>, Y: ?Sized + Is<M>> GradientsFor<M, X> for &Y {
    fn model(model: &mut X) -> &mut M {
        model.is_mut()
    }
    fn gradients(&self) -> &M {
        (**self).is()
    }
}

/// Implemented by `&mut O` for an optimizer `O` of the model `M`: the optimizer argument of
/// [`crate::fit::fit`], so that an optimizer built for another model is one short error there
/// (see [`crate::operand`]).
///
/// ```
/// use shapeflow_core::{Init, Rng, layers::Linear, optim::{Adam, AdamConfig, Optimizer, OptimizerFor}};
/// use shapeflow_cpu::Cpu;
/// type Fc = Linear<typenum::U2, typenum::U1, Cpu>;
/// fn lr<O: OptimizerFor<Fc>>(mut opt: O) -> f64 { opt.optimizer().lr() }
/// let fc = Fc::init(&Cpu::default(), &mut Rng::new(0));
/// assert_eq!(lr(&mut Adam::new(&fc, AdamConfig::default())), 1e-3);
/// ```
#[diagnostic::on_unimplemented(
    message = "`fit` takes `&mut` an optimizer built for `{M}`",
    label = "`{Self}` is not `&mut` an optimizer for `{M}`",
    note = "pass `&mut opt` (`fit` keeps the optimizer's state in it for you); an optimizer steps the model type it was built for: `Adam::new(&model, …)` with this `model`"
)]
pub trait OptimizerFor<M> {
    /// The optimizer behind the reference.
    type Optimizer: ?Sized + Optimizer<M>;
    /// The optimizer.
    fn optimizer(&mut self) -> &mut Self::Optimizer;
}

#[diagnostic::do_not_recommend]
impl<M, O: ?Sized + Optimizer<M>> OptimizerFor<M> for &mut O {
    type Optimizer = O;
    fn optimizer(&mut self) -> &mut O {
        self
    }
}

/// What every optimizer offers: a step from gradients, and its learning rate (for schedulers
/// and callbacks).
///
/// ```
/// use shapeflow_core::{Init, Rng, layers::Linear, optim::{Adam, AdamConfig, Optimizer}};
/// use shapeflow_cpu::Cpu;
/// let fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
/// let mut opt = Adam::new(&fc, AdamConfig::default());
/// Optimizer::set_lr(&mut opt, 0.5);
/// assert_eq!(Optimizer::lr(&opt), 0.5);
/// ```
pub trait Optimizer<M> {
    /// Applies one update to every parameter of `model` from `grads`.
    fn step(&mut self, model: &mut M, grads: &M) -> Result<()>;
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate.
    fn set_lr(&mut self, lr: f64);
    /// The optimizer's state (step count, moment buffers) as checkpoint entries named
    /// `optimizer.*`, for resumable training.
    fn state_entries(&self) -> Vec<crate::checkpoint::Entry>;
    /// Restores [`Optimizer::state_entries`]; an `Err` message when an entry is missing or does
    /// not fit (nothing is changed then).
    fn load_state(
        &mut self,
        entries: &std::collections::HashMap<String, crate::checkpoint::Entry>,
    ) -> std::result::Result<(), String>;
    /// Updates applied so far (the step count a checkpoint records); 0 for an optimizer that
    /// keeps none.
    fn steps(&self) -> u64 {
        0
    }
    /// Sets the step count. A replayed CUDA graph (`shapeflow_cuda::TrainGraph`) applies
    /// updates without calling [`Optimizer::step`] and counts them here, so step-dependent
    /// terms (Adam's bias corrections, Adagrad's decay) and checkpoints continue from them.
    /// Optimizers without a step count ignore it.
    ///
    /// ```
    /// use shapeflow_core::{Init, Rng, layers::Linear, optim::{Adam, AdamConfig, Optimizer}};
    /// use shapeflow_cpu::Cpu;
    /// let fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
    /// let mut opt = Adam::new(&fc, AdamConfig::default());
    /// Optimizer::set_steps(&mut opt, 7);
    /// assert_eq!(Optimizer::steps(&opt), 7);
    /// ```
    fn set_steps(&mut self, steps: u64) {
        let _ = steps;
    }
}
