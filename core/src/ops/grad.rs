//! The autograd surface of a tensor: `requires_grad`, `backward`, `grad`, `detach`.

use std::sync::Arc;

use crate::autograd::{Gradients, Node, Raw};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// This tensor as a leaf that requires gradients: ops applied to it are recorded, and
    /// [`Tensor::backward`] gives its gradient. On a tensor computed by ops it starts a new leaf
    /// with the same values (PyTorch's `detach().requires_grad_()`).
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let w = Tensor::<(Const<2>,), Cpu>::ones(&Cpu::default(), &[2]).unwrap().requires_grad();
    /// assert!(w.is_tracked());
    /// ```
    pub fn requires_grad(mut self) -> Self {
        self.node = Some(Node::leaf(self.shape()));
        self
    }

    /// Whether ops on this tensor are recorded (it requires gradients or was computed from one
    /// that does).
    pub fn is_tracked(&self) -> bool {
        self.node.is_some()
    }

    /// The same values, untracked: ops on the result record nothing and gradients stop here.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let w = Tensor::<(Const<2>,), Cpu>::ones(&Cpu::default(), &[2]).unwrap().requires_grad();
    /// assert!(!w.exp().detach().is_tracked());
    /// ```
    pub fn detach(&self) -> Self {
        let mut t = self.clone();
        t.node = None;
        t
    }

    /// A leaf's gradient, summed over every backward pass that reached it since it was made or
    /// since [`Tensor::zero_grad`] (PyTorch's `.grad`); `None` before any.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let w = Tensor::<(Const<2>,), Cpu>::ones(&Cpu::default(), &[2]).unwrap().requires_grad();
    /// w.mul_scalar(3.0).sum_all().backward().unwrap();
    /// w.mul_scalar(3.0).sum_all().backward().unwrap();
    /// assert_eq!(w.grad().unwrap().to_vec(), vec![6.0, 6.0]);
    /// w.zero_grad();
    /// assert!(w.grad().is_none());
    /// ```
    pub fn grad(&self) -> Option<Tensor<S, B>> {
        let node = self.node.as_ref().filter(|n| n.leaf)?;
        let g = node.grad.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        Some(Tensor::from_raw(g, None))
    }

    /// Clears a leaf's accumulated gradient.
    pub fn zero_grad(&self) {
        if let Some(node) = self.node.as_ref().filter(|n| n.leaf) {
            *node.grad.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// Back-propagates from this one-element tensor (a loss), returning the gradient of every
    /// leaf it depends on; each leaf's [`Tensor::grad`] accumulates too. Frees the values the
    /// graph saved: a second backward through the same ops is an `Err` (see
    /// [`Tensor::backward_retained`]). A tensor of several elements needs a seed
    /// ([`Tensor::backward_with`]).
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu64;
    /// let dev = Cpu64::default();
    /// let x = Tensor::<(Const<2>,), Cpu64>::from_vec(&dev, &[2], vec![1.0, 2.0]).unwrap().requires_grad();
    /// let loss = x.exp().sum_all();
    /// let g = loss.backward().unwrap();
    /// assert!((g.wrt(&x).unwrap().to_vec()[1] - 2f64.exp()).abs() < 1e-12);
    /// assert!(loss.backward().is_err()); // the graph was freed
    /// assert!(x.exp().backward().is_err()); // two elements: needs a seed
    /// ```
    pub fn backward(&self) -> Result<Gradients<B>> {
        self.backward_from(None, false)
    }

    /// [`Tensor::backward`] that keeps the graph's saved values, so it can run again (PyTorch's
    /// `retain_graph=True`).
    pub fn backward_retained(&self) -> Result<Gradients<B>> {
        self.backward_from(None, true)
    }

    /// Back-propagates from this tensor with `seed` as its gradient (PyTorch's
    /// `y.backward(gradient=seed)`); the seed must have this tensor's sizes.
    pub fn backward_with(&self, seed: &Tensor<S, B>) -> Result<Gradients<B>> {
        self.check_same_dims(seed, "backward_with: the seed")?;
        self.backward_from(Some(seed), false)
    }

    pub(crate) fn backward_from(
        &self,
        seed: Option<&Tensor<S, B>>,
        retain: bool,
    ) -> Result<Gradients<B>> {
        let Some(node): Option<&Arc<Node<B>>> = self.node.as_ref() else {
            return Err(Error::Autograd(format!(
                "backward from a tensor of shape {} that nothing recorded: no input requires gradients (call `requires_grad()` on the parameters), or it was computed inside `no_grad`",
                S::describe()
            )));
        };
        let seed = match seed {
            Some(s) => Raw { storage: s.storage().clone(), dims: s.shape() },
            None => {
                if self.len() != 1 {
                    return Err(Error::Autograd(format!(
                        "backward from a tensor of sizes {:?} ({} elements): only a one-element tensor (a loss) has an implied gradient; reduce it (e.g. `sum_all()`) or pass a seed to `backward_with`",
                        self.dims(),
                        self.len()
                    )));
                }
                Raw { storage: self.ones_like().into_storage(), dims: self.shape() }
            }
        };
        crate::autograd::backward::run(node, seed, retain)
    }
}
