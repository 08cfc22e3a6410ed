//! The graph: untyped values ([`Raw`]) and nodes holding each op's derivative rule.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::backend::Backend;
use crate::error::Result;
use crate::shape::Dims;

/// A value in the graph without its shape type: a contiguous buffer and its sizes.
pub(crate) struct Raw<B: Backend> {
    pub storage: B::Storage,
    pub dims: Dims,
}

impl<B: Backend> Clone for Raw<B> {
    fn clone(&self) -> Self {
        Raw { storage: self.storage.clone(), dims: self.dims }
    }
}

/// An op's derivative rule: from the output's gradient and which inputs need one, each input's
/// gradient (`None` where not needed).
pub(crate) type Rule<B> =
    Box<dyn Fn(&Raw<B>, &[bool]) -> Result<Vec<Option<Raw<B>>>> + Send + Sync>;

/// One recorded value: a leaf (a tensor that requires gradients) or an op's output.
pub(crate) struct Node<B: Backend> {
    pub id: u64,
    pub dims: Dims,
    /// One entry per input of the op, `None` for inputs that track nothing.
    pub parents: Vec<Option<Arc<Node<B>>>>,
    /// The derivative rule; `None` for a leaf, or once a backward has freed it.
    pub rule: Mutex<Option<Rule<B>>>,
    pub leaf: bool,
    /// A leaf's gradient, summed over every backward that reached it.
    pub grad: Mutex<Option<Raw<B>>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl<B: Backend> Node<B> {
    pub(crate) fn leaf(dims: Dims) -> Arc<Self> {
        Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            dims,
            parents: Vec::new(),
            rule: Mutex::new(None),
            leaf: true,
            grad: Mutex::new(None),
        })
    }
}

/// The node for an op's output: `None` (nothing recorded) when no input tracks anything or
/// recording is off ([`super::no_grad`]).
pub(crate) fn record<B: Backend>(
    inputs: &[Option<&Arc<Node<B>>>],
    dims: Dims,
    rule: impl Fn(&Raw<B>, &[bool]) -> Result<Vec<Option<Raw<B>>>> + Send + Sync + 'static,
) -> Option<Arc<Node<B>>> {
    if inputs.iter().all(Option::is_none) || !super::is_recording() {
        return None;
    }
    Some(Arc::new(Node {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        dims,
        parents: inputs.iter().map(|p| p.cloned()).collect(),
        rule: Mutex::new(Some(Box::new(rule))),
        leaf: false,
        grad: Mutex::new(None),
    }))
}
