//! Define-by-run automatic differentiation for code written with the tensor op set.
//!
//! A tensor made with [`crate::Tensor::requires_grad`] is a *leaf*; every op applied to a
//! tensor that is a leaf or was computed from one records a node holding its inputs' nodes and
//! its derivative rule (the values it needs, captured). [`crate::Tensor::backward`] on a scalar
//! walks the nodes in reverse and returns [`Gradients`] for every leaf it reaches, typed by the
//! leaf's shape; each leaf also accumulates its gradient across calls, as PyTorch's `.grad`.
//! Rust control flow needs nothing special: only the ops that ran are recorded.
//!
//! Ops on tensors that track nothing record nothing (one `Option` check), and [`no_grad`] turns
//! recording off for a closure. The graph lives while a tensor computed from it lives; a
//! backward frees the saved values it used unless asked to keep them
//! ([`crate::Tensor::backward_retained`]), and a second backward over them is an `Err`.
//!
//! ```
//! use shapeflow_core::{Const, Tensor};
//! use shapeflow_cpu::Cpu64;
//! let dev = Cpu64::default();
//! let w = Tensor::<(Const<3>,), Cpu64>::from_vec(&dev, &[3], vec![1.0, 2.0, 3.0]).unwrap().requires_grad();
//! // y = Σ w² if Σ w > 0, else Σ w
//! let y = if w.sum_all().item() > 0.0 { w.square().sum_all() } else { w.sum_all() };
//! let g = y.backward().unwrap();
//! assert_eq!(g.wrt(&w).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
//! ```

pub(crate) mod backward;
mod layer;
mod node;

pub use backward::Gradients;
pub use layer::{
    AutoLayer, Autograd, AutogradCache, ParamTensor, module_grads, requires_grad_params,
};
pub(crate) use node::{Node, Raw, record};

use std::cell::Cell;

thread_local! {
    static NO_GRAD: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with recording off on this thread: ops inside it record no nodes, even on tensors
/// that require gradients (PyTorch's `torch.no_grad()`). Nests; restores the previous state
/// when `f` returns or panics.
///
/// ```
/// use shapeflow_core::{Const, Tensor, autograd::no_grad};
/// use shapeflow_cpu::Cpu;
/// let w = Tensor::<(Const<2>,), Cpu>::ones(&Cpu::default(), &[2]).unwrap().requires_grad();
/// let y = no_grad(|| w.exp());
/// assert!(!y.is_tracked());
/// assert!(w.exp().is_tracked());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            NO_GRAD.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(NO_GRAD.with(|c| c.replace(true)));
    f()
}

/// Whether ops on this thread record nodes now (outside [`no_grad`]).
pub fn is_recording() -> bool {
    !NO_GRAD.with(|c| c.get())
}
