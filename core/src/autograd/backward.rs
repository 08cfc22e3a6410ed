//! The reverse walk: [`crate::Tensor::backward`] and the [`Gradients`] it returns.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use super::node::{Node, Raw};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ops::raw;
use crate::shape::Shape;
use crate::tensor::Tensor;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The gradients of one backward pass, for every leaf it reached, read back typed by the leaf.
///
/// ```
/// use shapeflow_core::{Const, Tensor};
/// use shapeflow_cpu::Cpu64;
/// let dev = Cpu64::default();
/// let a = Tensor::<(Const<2>,), Cpu64>::from_vec(&dev, &[2], vec![1.0, 2.0]).unwrap().requires_grad();
/// let b = Tensor::<(Const<2>,), Cpu64>::from_vec(&dev, &[2], vec![3.0, 4.0]).unwrap().requires_grad();
/// let g = (&a * &b).unwrap().sum_all().backward().unwrap();
/// assert_eq!(g.wrt(&a).unwrap().to_vec(), vec![3.0, 4.0]);
/// assert_eq!(g.wrt(&b).unwrap().to_vec(), vec![1.0, 2.0]);
/// ```
pub struct Gradients<B: Backend> {
    grads: HashMap<u64, Raw<B>>,
}

impl<B: Backend> std::fmt::Debug for Gradients<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gradients").field("leaves", &self.grads.len()).finish()
    }
}

impl<B: Backend> Gradients<B> {
    /// The gradient with respect to `leaf`, or `None` when this backward did not reach it.
    pub fn get<S: Shape>(&self, leaf: &Tensor<S, B>) -> Option<Tensor<S, B>> {
        let node = leaf.node.as_ref()?;
        let g = self.grads.get(&node.id)?;
        Some(Tensor::from_raw(g.clone(), None))
    }

    /// The gradient with respect to `leaf`; an `Err` that says why when there is none.
    pub fn wrt<S: Shape>(&self, leaf: &Tensor<S, B>) -> Result<Tensor<S, B>> {
        match &leaf.node {
            None => Err(Error::Autograd(format!(
                "no gradient for a tensor of shape {} that does not require gradients: call `requires_grad()` on it before using it",
                S::describe()
            ))),
            Some(n) if !n.leaf => Err(Error::Autograd(format!(
                "a tensor of shape {} computed by ops is not a leaf: gradients are kept for tensors made with `requires_grad()`",
                S::describe()
            ))),
            Some(_) => self.get(leaf).ok_or_else(|| {
                Error::Autograd(format!(
                    "the tensor of shape {} requires gradients but the value differentiated does not depend on it",
                    S::describe()
                ))
            }),
        }
    }

    /// Number of leaves with a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// Whether no leaf was reached.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }
}

/// Every node reachable from `root`, each after all the nodes that use it (reverse topological
/// order of the walk).
fn ordered<B: Backend>(root: &Arc<Node<B>>) -> Vec<Arc<Node<B>>> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // iterative post-order DFS: (node, next parent to visit)
    let mut stack: Vec<(Arc<Node<B>>, usize)> = vec![(root.clone(), 0)];
    seen.insert(root.id);
    while let Some((node, i)) = stack.pop() {
        if let Some(p) = node.parents.get(i) {
            stack.push((node.clone(), i + 1));
            if let Some(p) = p
                && seen.insert(p.id)
            {
                stack.push((p.clone(), 0));
            }
        } else {
            order.push(node);
        }
    }
    order.reverse();
    order
}

fn accumulate<B: Backend>(into: &mut HashMap<u64, Raw<B>>, id: u64, g: Raw<B>) -> Result<()> {
    match into.remove(&id) {
        None => {
            into.insert(id, g);
        }
        Some(prev) => {
            into.insert(id, raw::binary(crate::backend::BinaryOp::Add, &prev, &g)?);
        }
    }
    Ok(())
}

/// Runs the reverse pass from `root` seeded with `seed` (of the root's sizes).
pub(crate) fn run<B: Backend>(
    root: &Arc<Node<B>>,
    seed: Raw<B>,
    retain: bool,
) -> Result<Gradients<B>> {
    let mut pending: HashMap<u64, Raw<B>> = HashMap::new();
    pending.insert(root.id, seed);
    let mut out = HashMap::new();
    for node in ordered(root) {
        let Some(g) = pending.remove(&node.id) else { continue };
        if node.leaf {
            let mut slot = lock(&node.grad);
            let total = match slot.take() {
                None => g.clone(),
                Some(prev) => raw::binary(crate::backend::BinaryOp::Add, &prev, &g)?,
            };
            *slot = Some(total);
            accumulate(&mut out, node.id, g)?;
            continue;
        }
        let needs: Vec<bool> = node.parents.iter().map(Option::is_some).collect();
        let grads = {
            let mut rule = lock(&node.rule);
            let Some(f) = rule.as_ref() else {
                return Err(Error::Autograd(
                    "backward through a graph whose saved values an earlier backward freed: run the forward again, or call `backward_retained()` the first time".into(),
                ));
            };
            let grads = f(&g, &needs)?;
            if !retain {
                *rule = None;
            }
            grads
        };
        for (parent, grad) in node.parents.iter().zip(grads) {
            if let (Some(p), Some(grad)) = (parent, grad) {
                if grad.dims != p.dims {
                    return Err(Error::Autograd(format!(
                        "internal: a derivative rule gave sizes {} for an input of sizes {}",
                        grad.dims, p.dims
                    )));
                }
                accumulate(&mut pending, p.id, grad)?;
            }
        }
    }
    Ok(Gradients { grads: out })
}
