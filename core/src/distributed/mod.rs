//! Data-parallel training: the same model on several processes (or GPUs), each computing a
//! shard of every batch, gradients averaged before each step, so the result equals one process
//! training on the whole batch.
//!
//! [`Collective`] is the one trait an engine implements; [`Local`] (one process) and
//! [`ThreadGroup`] (ranks as threads of one process) are here, MPI and NCCL in the
//! `shapeflow-distributed` crate behind its `mpi` and `nccl` features. [`DataParallel`] holds
//! an engine and does what a training step needs; `fit` takes one in
//! [`FitConfig::parallel`](crate::fit::FitConfig).
//!
//! ```
//! use shapeflow_core::distributed::{DataParallel, Local};
//! let dp = DataParallel::new(Local);
//! assert!(dp.is_main() && dp.world() == 1);
//! ```

mod agreement;
mod collective;
mod data_parallel;
mod local;
mod threads;

pub(crate) use agreement::short_name;
pub use agreement::{RunField, fnv1a, model_fields};
pub use collective::{Collective, Pending, Values};
pub use data_parallel::{DEFAULT_BUCKET_BYTES, DataParallel, Shard, Stats};
pub use local::Local;
pub use threads::ThreadGroup;
