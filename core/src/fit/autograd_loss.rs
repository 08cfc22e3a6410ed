//! A loss of your own written with the tensor op set, differentiated by autograd: what
//! [`LossFn::Autograd`](super::LossFn::Autograd) runs.

use std::any::TypeId;

use crate::backend::{Backend, Elem};
use crate::data::Batch;
use crate::dim::{Const, Dyn, StaticDim};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// What an [`AutogradLoss`] sees of one batch, on the model's backend.
pub struct LossBatch<'a, B: Backend> {
    /// The model's outputs, `[batch, width]` (tracked: the loss is differentiated with
    /// respect to them).
    pub outputs: &'a Tensor<(Dyn, Dyn), B>,
    /// One class label per sample as a number, `[batch, 1]` (what `gather` takes; a
    /// regression dataset's are 0).
    pub labels: &'a Tensor<(Dyn, Const<1>), B>,
    /// Float targets, `[batch, width]`, for a regression dataset; `None` for a classification one.
    pub targets: Option<&'a Tensor<(Dyn, Dyn), B>>,
}

/// A loss written with the op set: a function of the batch to a rank-0 tensor (a mean over
/// the batch, as the built-in losses). `fit` differentiates it with autograd; no gradient is
/// written. Made for one backend ([`AutogradLoss::new`]); used with a model on another, `fit`
/// returns an `Err` that says so.
///
/// ```
/// use shapeflow_core::fit::{AutogradLoss, FitConfig, LossBatch, LossFn};
/// use shapeflow_core::{Backend, Result, Tensor};
/// use shapeflow_cpu::Cpu;
/// // Cross-entropy with label smoothing 0.1, from log-softmax, gather and means.
/// fn smoothed<B: Backend>(b: &LossBatch<'_, B>) -> Result<Tensor<(), B>> {
///     let logp = b.outputs.log_softmax::<1>()?;
///     let nll = logp.gather::<1, _>(b.labels)?.mean_all().neg();
///     let uniform = logp.mean_all().neg();
///     Ok((&nll.mul_scalar(0.9) + &uniform.mul_scalar(0.1))?)
/// }
/// let loss = LossFn::Autograd(AutogradLoss::new::<Cpu>("smoothed", smoothed::<Cpu>));
/// let cfg = FitConfig { loss, ..Default::default() };
/// # let _ = cfg;
/// ```
#[derive(Clone, Copy)]
pub struct AutogradLoss {
    /// How errors and logs name it.
    pub name: &'static str,
    backend: TypeId,
    backend_name: &'static str,
    /// The function, its backend's type erased; `backend` says which.
    f: *const (),
}

// SAFETY: `f` is a plain function pointer (code, no data), which any thread may call.
unsafe impl Send for AutogradLoss {}
// SAFETY: as above; nothing is shared but the pointer itself.
unsafe impl Sync for AutogradLoss {}

/// The function type of an [`AutogradLoss`] on backend `B`.
pub type AutogradLossFn<B> = fn(&LossBatch<'_, B>) -> Result<Tensor<(), B>>;

impl AutogradLoss {
    /// A loss computed by `f` on backend `B`.
    pub fn new<B: Backend>(name: &'static str, f: AutogradLossFn<B>) -> Self {
        AutogradLoss {
            name,
            backend: TypeId::of::<B>(),
            backend_name: std::any::type_name::<B>(),
            f: f as *const (),
        }
    }

    /// The loss and its gradient with respect to each output.
    pub(crate) fn apply<C: StaticDim, B: Backend>(
        &self,
        out: &Tensor<(Dyn, C), B>,
        batch: &Batch,
        dev: &B,
    ) -> Result<(f64, Tensor<(Dyn, C), B>)> {
        let name = self.name;
        if TypeId::of::<B>() != self.backend {
            return Err(Error::Config(format!(
                "loss `{name}` was made for backend `{}` but the model runs on `{}`: build it with `AutogradLoss::new::<{}>`",
                self.backend_name,
                std::any::type_name::<B>(),
                std::any::type_name::<B>()
            )));
        }
        // SAFETY: `f` was made from an `AutogradLossFn<B'>` in `new`, and `B'` is `B` (same
        // type id, checked above), so this is the pointer's own type.
        let f: AutogradLossFn<B> =
            unsafe { std::mem::transmute::<*const (), AutogradLossFn<B>>(self.f) };
        let rows = out.batch();
        let outputs = out.detach().reshape::<(Dyn, Dyn)>(&[rows, C::N])?.requires_grad();
        let labels: Vec<B::Elem> =
            batch.labels.iter().map(|&l| B::Elem::from_f64(l as f64)).collect();
        let labels = Tensor::<(Dyn, Const<1>), B>::from_vec(dev, &[rows, 1], labels)?;
        let targets = if batch.targets.is_empty() {
            None
        } else {
            let t: Vec<B::Elem> =
                batch.targets.iter().map(|&v| B::Elem::from_f64(v as f64)).collect();
            Some(Tensor::<(Dyn, Dyn), B>::from_vec(dev, &[rows, C::N], t)?)
        };
        let input = LossBatch { outputs: &outputs, labels: &labels, targets: targets.as_ref() };
        let loss = f(&input).map_err(|e| Error::Config(format!("loss `{name}`: {e}")))?;
        let value = loss.item();
        if !value.is_finite() {
            return Err(Error::NonFinite(format!("loss `{name}` is {value}")));
        }
        let grad = match loss.backward()?.get(&outputs) {
            Some(g) => g,
            None => outputs.detach().zeros_like(),
        };
        if let Some(i) = grad.to_vec().iter().position(|g| !g.as_f64().is_finite()) {
            return Err(Error::NonFinite(format!(
                "loss `{name}`: the gradient of output {} of row {} is not finite",
                i % C::N,
                i / C::N
            )));
        }
        Ok((value, grad.detach().reshape(&[rows, C::N])?))
    }
}

impl std::fmt::Debug for AutogradLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutogradLoss")
            .field("name", &self.name)
            .field("backend", &self.backend_name)
            .finish()
    }
}

/// Two autograd losses are the same loss when they have the same name and backend.
impl PartialEq for AutogradLoss {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.backend == other.backend
    }
}
