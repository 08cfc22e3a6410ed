//! The collective operations data-parallel training needs, as one trait: an engine (MPI, NCCL,
//! the in-process [`super::ThreadGroup`]) is one implementation of it.

use std::fmt::Debug;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::error::{Error, Result};

/// A host buffer taking part in a collective operation.
///
/// ```
/// use shapeflow_core::distributed::Values;
/// let v = Values::F32(vec![1.0, 2.0]);
/// assert_eq!(v.len(), 2);
/// assert_eq!(v.type_name(), "f32");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// `f32` values (gradients of an `f32` model).
    F32(Vec<f32>),
    /// `f64` values (gradients of an `f64` model, metric sums, counts).
    F64(Vec<f64>),
    /// Bytes (a serialized checkpoint); broadcast only.
    U8(Vec<u8>),
}

impl Values {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::U8(v) => v.len(),
        }
    }
    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The element type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Values::F32(_) => "f32",
            Values::F64(_) => "f64",
            Values::U8(_) => "u8",
        }
    }
}

/// A collective operation under way: [`Pending::wait`] returns its result.
///
/// ```
/// use shapeflow_core::distributed::{Pending, Values};
/// let p = Pending::ready(Ok(Values::F64(vec![3.0])));
/// assert_eq!(p.wait().unwrap(), Values::F64(vec![3.0]));
/// ```
pub struct Pending {
    state: PendingState,
}

enum PendingState {
    Ready(Result<Values>),
    Deferred(Box<dyn FnOnce() -> Result<Values> + Send>),
    Waiting { rx: Receiver<Result<Values>>, timeout: Duration, what: String },
}

impl Pending {
    /// An operation already done.
    pub fn ready(result: Result<Values>) -> Self {
        Pending { state: PendingState::Ready(result) }
    }
    /// An operation run when it is waited for (by an engine without a thread of its own; the
    /// ranks must wait for their operations in the order they started them).
    pub fn deferred(run: impl FnOnce() -> Result<Values> + Send + 'static) -> Self {
        Pending { state: PendingState::Deferred(Box::new(run)) }
    }
    /// An operation another thread completes, sending its result on `rx`; [`Pending::wait`]
    /// gives up after `timeout` with an error naming `what`.
    pub fn channel(rx: Receiver<Result<Values>>, timeout: Duration, what: String) -> Self {
        Pending { state: PendingState::Waiting { rx, timeout, what } }
    }
    /// Waits for the result. An `Err` when the operation failed, its engine stopped, or the
    /// other ranks did not take part within the engine's timeout (a rank that failed or hangs).
    pub fn wait(self) -> Result<Values> {
        match self.state {
            PendingState::Ready(r) => r,
            PendingState::Deferred(run) => run(),
            PendingState::Waiting { rx, timeout, what } => match rx.recv_timeout(timeout) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) => Err(Error::Distributed(format!(
                    "{what}: no answer from the other ranks within {} s; a rank has failed, \
                     stopped or hangs (see its own output)",
                    timeout.as_secs_f64()
                ))),
                Err(RecvTimeoutError::Disconnected) => {
                    Err(Error::Distributed(format!("{what}: the engine stopped")))
                }
            },
        }
    }
}

/// The collective operations of data-parallel training. Every rank must start the same
/// operations in the same order with buffers of the same type and length; the results are
/// the same on every rank.
///
/// Operations are started, not finished, by these calls: an engine may run them on its own
/// thread (MPI) or stream (NCCL) while the caller goes on computing, so gradient buckets are
/// summed while the backward pass is still running. [`Pending::wait`] returns the result.
///
/// ```
/// use shapeflow_core::distributed::{Collective, Local, Values};
/// let one = Local::default();
/// assert_eq!((one.rank(), one.world()), (0, 1));
/// let sum = one.all_reduce_sum(Values::F64(vec![2.0])).wait().unwrap();
/// assert_eq!(sum, Values::F64(vec![2.0]));
/// ```
pub trait Collective: Send + Sync + Debug {
    /// This process's rank, `0..world()`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn world(&self) -> usize;
    /// The engine's name for messages: `"mpi"`, `"nccl"`, `"threads"`, `"local"`.
    fn engine(&self) -> &'static str;
    /// Starts summing `values` elementwise over every rank (`F32` or `F64`).
    fn all_reduce_sum(&self, values: Values) -> Pending;
    /// Starts sending `values` from rank `root` to every rank; the other ranks pass a buffer of
    /// the same type and length, whose contents are replaced.
    fn broadcast(&self, values: Values, root: usize) -> Pending;
}
