//! MPI: one process per rank, started by `mpirun`, talking to the system's MPI library
//! (loaded at run time, [`crate::mpi_library`]).

use std::time::Duration;

use shapeflow_core::distributed::{Collective, Pending, Values};
use shapeflow_core::{Error, Result};

use crate::engine_thread::{EngineThread, Ops};
use crate::mpi_library::MpiLibrary;

/// The MPI engine: this process's place in `MPI_COMM_WORLD`. Start the program with
/// `mpirun -np N`; started alone it is a world of one. The MPI library is found at run time
/// (Open MPI's `libmpi.so.40`, MPICH's `libmpi.so.12`, or the file `SHAPEFLOW_MPI_LIBRARY`
/// names), so building needs no MPI; without one, `init` is an `Err` saying what was tried.
///
/// ```no_run
/// use shapeflow_core::distributed::{Collective, DataParallel};
/// let mpi = shapeflow_distributed::Mpi::init().unwrap();
/// println!("rank {} of {} ({})", mpi.rank(), mpi.world(), mpi.library());
/// let dp = DataParallel::new(mpi);
/// # let _ = dp;
/// ```
#[derive(Debug)]
pub struct Mpi {
    thread: EngineThread,
    library: String,
}

struct MpiOps {
    lib: MpiLibrary,
}

impl Drop for MpiOps {
    /// `MPI_Finalize` on the engine's thread, the one that initialised MPI.
    fn drop(&mut self) {
        self.lib.finalize();
    }
}

impl Mpi {
    /// Initialises MPI on the engine's thread; collectives wait up to 120 s for the other ranks.
    pub fn init() -> Result<Mpi> {
        Self::with_timeout(Duration::from_secs(120))
    }

    /// [`Mpi::init`] whose collectives fail after `timeout` when another rank does not take
    /// part (it failed before reaching them, or hangs).
    pub fn with_timeout(timeout: Duration) -> Result<Mpi> {
        let lib = MpiLibrary::load()?;
        let library = format!("{} from {}", lib.version, lib.path);
        let thread = EngineThread::spawn("mpi", timeout, move || {
            let (rank, world) = lib.init()?;
            Ok((MpiOps { lib }, rank, world))
        })?;
        Ok(Mpi { thread, library })
    }

    /// The MPI library in use: its own description and the file it was loaded from.
    ///
    /// ```no_run
    /// let mpi = shapeflow_distributed::Mpi::init().unwrap();
    /// assert!(mpi.library().contains("MPI"));
    /// ```
    pub fn library(&self) -> &str {
        &self.library
    }
}

impl Ops for MpiOps {
    fn sum(&mut self, values: Values) -> Result<Values> {
        Ok(match values {
            Values::F32(send) => {
                let mut out = vec![0.0f32; send.len()];
                self.lib.all_reduce_sum(&send, &mut out)?;
                Values::F32(out)
            }
            Values::F64(send) => {
                let mut out = vec![0.0f64; send.len()];
                self.lib.all_reduce_sum(&send, &mut out)?;
                Values::F64(out)
            }
            Values::U8(_) => return Err(Error::Distributed("bytes cannot be summed".into())),
        })
    }

    fn broadcast(&mut self, mut values: Values, root: usize) -> Result<Values> {
        match &mut values {
            Values::F32(v) => self.lib.broadcast(v, root)?,
            Values::F64(v) => self.lib.broadcast(v, root)?,
            Values::U8(v) => self.lib.broadcast(v, root)?,
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
