//! Collective engines for shapeflow's data-parallel training: [`Mpi`] (the system's MPI
//! library, loaded at run time, for CPUs and machines joined by a network) and, with the
//! `nccl` feature, `Nccl` (NVIDIA's NCCL through cudarc, also loaded at run time). Neither
//! needs its library to build. Both implement [`shapeflow_core::distributed::Collective`];
//! the in-process engines (`Local`, `ThreadGroup`) live in `shapeflow_core::distributed`.
//!
//! Each engine runs its library on a thread of its own (MPI and NCCL calls then come from one
//! thread, as `MPI_THREAD_FUNNELED` requires), so a bucket of gradients is summed while the
//! training thread goes on with the backward pass.
//!
//! ```
//! // Outside mpirun, and without an MPI library, the in-process engine always works.
//! use shapeflow_core::distributed::{Collective, Local};
//! assert_eq!(Local.world(), 1);
//! ```

#[cfg(any(not(target_family = "wasm"), feature = "nccl"))]
mod engine_thread;
#[cfg(not(target_family = "wasm"))]
mod mpi_engine;
#[cfg(not(target_family = "wasm"))]
mod mpi_library;
#[cfg(feature = "nccl")]
mod nccl_engine;

#[cfg(not(target_family = "wasm"))]
pub use mpi_engine::Mpi;
#[cfg(feature = "nccl")]
pub use nccl_engine::{Nccl, NcclId};
