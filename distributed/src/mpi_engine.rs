//! MPI through rsmpi: one process per rank, started by `mpirun`.

use std::time::Duration;

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use shapeflow_core::distributed::{Collective, Pending, Values};
use shapeflow_core::{Error, Result};

use crate::engine_thread::{EngineThread, Ops};

/// The MPI engine: this process's place in `MPI_COMM_WORLD`. Start the program with
/// `mpirun -np N`; started alone it is a world of one.
///
/// ```no_run
/// use shapeflow_core::distributed::{Collective, DataParallel};
/// let mpi = shapeflow_distributed::Mpi::init().unwrap();
/// println!("rank {} of {}", mpi.rank(), mpi.world());
/// let dp = DataParallel::new(mpi);
/// # let _ = dp;
/// ```
#[derive(Debug)]
pub struct Mpi {
    thread: EngineThread,
}

struct MpiOps {
    // Dropped last: MPI_Finalize.
    world: SimpleCommunicator,
    _universe: Universe,
}

impl Mpi {
    /// Initialises MPI on the engine's thread; collectives wait up to 120 s for the other ranks.
    pub fn init() -> Result<Mpi> {
        Self::with_timeout(Duration::from_secs(120))
    }

    /// [`Mpi::init`] whose collectives fail after `timeout` when another rank does not take
    /// part (it failed before reaching them, or hangs).
    pub fn with_timeout(timeout: Duration) -> Result<Mpi> {
        let thread = EngineThread::spawn("mpi", timeout, || {
            let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
                .ok_or_else(|| {
                    Error::Distributed("MPI is already initialised in this process".into())
                })?;
            let world = universe.world();
            let (rank, size) = (world.rank() as usize, world.size() as usize);
            Ok((MpiOps { world, _universe: universe }, rank, size))
        })?;
        Ok(Mpi { thread })
    }
}

fn checked(len: usize) -> Result<()> {
    if len > i32::MAX as usize {
        return Err(Error::Distributed(format!(
            "{len} values in one MPI operation; MPI counts stop at {} (use smaller buckets)",
            i32::MAX
        )));
    }
    Ok(())
}

impl Ops for MpiOps {
    fn sum(&mut self, values: Values) -> Result<Values> {
        checked(values.len())?;
        let sum = SystemOperation::sum();
        Ok(match values {
            Values::F32(send) => {
                let mut out = vec![0.0f32; send.len()];
                self.world.all_reduce_into(&send[..], &mut out[..], sum);
                Values::F32(out)
            }
            Values::F64(send) => {
                let mut out = vec![0.0f64; send.len()];
                self.world.all_reduce_into(&send[..], &mut out[..], sum);
                Values::F64(out)
            }
            Values::U8(_) => return Err(Error::Distributed("bytes cannot be summed".into())),
        })
    }

    fn broadcast(&mut self, mut values: Values, root: usize) -> Result<Values> {
        checked(values.len())?;
        let root = self.world.process_at_rank(root as i32);
        match &mut values {
            Values::F32(v) => root.broadcast_into(&mut v[..]),
            Values::F64(v) => root.broadcast_into(&mut v[..]),
            Values::U8(v) => root.broadcast_into(&mut v[..]),
        }
        Ok(values)
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.thread.rank
    }
    fn world(&self) -> usize {
        self.thread.world
    }
    fn engine(&self) -> &'static str {
        "mpi"
    }
    fn all_reduce_sum(&self, values: Values) -> Pending {
        self.thread.sum(values)
    }
    fn broadcast(&self, values: Values, root: usize) -> Pending {
        self.thread.broadcast(values, root)
    }
}
