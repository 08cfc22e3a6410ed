//! Collective engines for shapeflow's data-parallel training, each behind a cargo feature so
//! the default build needs neither: `mpi` (rsmpi against the system's MPI, for CPUs and
//! machines joined by a network) and `nccl` (NVIDIA's NCCL through cudarc, loaded at run time,
//! so it builds without CUDA). Both implement [`shapeflow_core::distributed::Collective`];
//! the in-process engines (`Local`, `ThreadGroup`) live in `shapeflow_core::distributed`.
//!
//! Each engine runs its library on a thread of its own (MPI and NCCL calls then come from one
//! thread, as `MPI_THREAD_FUNNELED` requires), so a bucket of gradients is summed while the
//! training thread goes on with the backward pass.
//!
//! ```
//! // Without the `mpi` feature this crate has no engine; the in-process one always works.
//! use shapeflow_core::distributed::{Collective, Local};
//! assert_eq!(Local.world(), 1);
//! ```

#[cfg(any(feature = "mpi", feature = "nccl"))]
mod engine_thread;
#[cfg(feature = "mpi")]
mod mpi_engine;
#[cfg(feature = "nccl")]
mod nccl_engine;

#[cfg(feature = "mpi")]
pub use mpi_engine::Mpi;
#[cfg(feature = "nccl")]
pub use nccl_engine::{Nccl, NcclId};
