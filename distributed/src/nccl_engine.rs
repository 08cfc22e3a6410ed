//! NCCL through cudarc: one process (or thread) per GPU. The library is loaded at run time, so
//! this builds on machines without CUDA; starting it there is an `Err` naming what is missing.

use std::sync::Arc;
use std::time::Duration;

use cudarc::driver::{CudaContext, CudaStream, DeviceRepr, ValidAsZeroBits};
use cudarc::nccl::{Comm, Id, NcclType, ReduceOp};
use shapeflow_core::distributed::{Collective, Pending, Values};
use shapeflow_core::{Error, Result};

use crate::engine_thread::{EngineThread, Ops};

/// The identifier every rank of one NCCL group starts from: made on rank 0 with
/// [`NcclId::new`], sent to the others (as 128 bytes, by MPI or any channel), rebuilt there
/// with [`NcclId::from_bytes`].
///
/// ```no_run
/// let id = shapeflow_distributed::NcclId::new().unwrap();
/// let same = shapeflow_distributed::NcclId::from_bytes(id.to_bytes());
/// assert_eq!(same.to_bytes(), id.to_bytes());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct NcclId([u8; 128]);

impl NcclId {
    /// A fresh identifier (`ncclGetUniqueId`); needs the NCCL library.
    pub fn new() -> Result<NcclId> {
        let id = Id::new().map_err(|e| nccl_error("ncclGetUniqueId", e))?;
        Ok(NcclId(id.internal().map(|c| c as u8)))
    }
    /// The identifier from its bytes.
    pub fn from_bytes(bytes: [u8; 128]) -> NcclId {
        NcclId(bytes)
    }
    /// Its bytes, to send to the other ranks.
    pub fn to_bytes(&self) -> [u8; 128] {
        self.0
    }
}

/// The NCCL engine: this rank's communicator on GPU `ordinal`. Each collective copies its
/// buffer to the GPU, runs the NCCL operation on the engine's own stream and copies the
/// result back.
///
/// ```no_run
/// use shapeflow_core::distributed::Collective;
/// use shapeflow_distributed::{Nccl, NcclId};
/// // One process per GPU; here rank 0 of 1.
/// let nccl = Nccl::new(0, 0, 1, NcclId::new().unwrap()).unwrap();
/// assert_eq!(nccl.world(), 1);
/// ```
#[derive(Debug)]
pub struct Nccl {
    thread: EngineThread,
}

struct NcclOps {
    comm: Comm,
    stream: Arc<CudaStream>,
}

impl Nccl {
    /// Joins the group `id` as `rank` of `world` on GPU `ordinal`; collectives wait up to
    /// 120 s for the other ranks.
    pub fn new(ordinal: usize, rank: usize, world: usize, id: NcclId) -> Result<Nccl> {
        Self::with_timeout(ordinal, rank, world, id, Duration::from_secs(120))
    }

    /// [`Nccl::new`] with another timeout.
    pub fn with_timeout(
        ordinal: usize,
        rank: usize,
        world: usize,
        id: NcclId,
        timeout: Duration,
    ) -> Result<Nccl> {
        let thread = EngineThread::spawn("nccl", timeout, move || {
            let ctx = CudaContext::new(ordinal)
                .map_err(|e| Error::Backend(format!("CUDA device {ordinal}: {e:?}")))?;
            let stream =
                ctx.new_stream().map_err(|e| Error::Backend(format!("CUDA stream: {e:?}")))?;
            let raw = Id::uninit(id.0.map(|b| b as ::core::ffi::c_char));
            let comm = Comm::from_rank(stream.clone(), rank, world, raw)
                .map_err(|e| nccl_error("ncclCommInitRank", e))?;
            Ok((NcclOps { comm, stream }, rank, world))
        })?;
        Ok(Nccl { thread })
    }

    /// Joins a group over the ranks of `mpi` (rank 0's identifier broadcast by MPI), on GPU
    /// `ordinal`: the usual start under `mpirun`, one process per GPU.
    pub fn from_mpi(mpi: &crate::Mpi, ordinal: usize) -> Result<Nccl> {
        let mine = if mpi.rank() == 0 { NcclId::new()?.to_bytes().to_vec() } else { vec![0; 128] };
        let bytes = match mpi.broadcast(Values::U8(mine), 0).wait()? {
            Values::U8(b) if b.len() == 128 => b,
            _ => return Err(Error::Distributed("the NCCL identifier did not arrive whole".into())),
        };
        let mut id = [0u8; 128];
        id.copy_from_slice(&bytes);
        Nccl::new(ordinal, mpi.rank(), mpi.world(), NcclId(id))
    }
}

fn nccl_error(what: &str, e: impl std::fmt::Debug) -> Error {
    Error::Distributed(format!("{what}: {e:?} (is libnccl installed and on the library path?)"))
}

impl NcclOps {
    /// Uploads `host`, runs `op` on the device copy, synchronises, downloads.
    fn on_device<T: DeviceRepr + ValidAsZeroBits + NcclType + Copy + Default>(
        &self,
        host: &[T],
        what: &str,
        op: impl FnOnce(
            &Comm,
            &mut cudarc::driver::CudaSlice<T>,
        ) -> std::result::Result<
            cudarc::nccl::result::NcclStatus,
            cudarc::nccl::result::NcclError,
        >,
    ) -> Result<Vec<T>> {
        let cuda = |e: cudarc::driver::DriverError| Error::Backend(format!("{what}: {e:?}"));
        let mut buf = self.stream.clone_htod(host).map_err(cuda)?;
        op(&self.comm, &mut buf).map_err(|e| nccl_error(what, e))?;
        self.stream.synchronize().map_err(cuda)?;
        self.stream.clone_dtoh(&buf).map_err(cuda)
    }
}

impl Ops for NcclOps {
    fn sum(&mut self, values: Values) -> Result<Values> {
        let what = "ncclAllReduce";
        Ok(match values {
            Values::F32(v) => Values::F32(
                self.on_device(&v, what, |c, b| c.all_reduce_in_place(b, &ReduceOp::Sum))?,
            ),
            Values::F64(v) => Values::F64(
                self.on_device(&v, what, |c, b| c.all_reduce_in_place(b, &ReduceOp::Sum))?,
            ),
            Values::U8(_) => return Err(Error::Distributed("bytes cannot be summed".into())),
        })
    }

    fn broadcast(&mut self, values: Values, root: usize) -> Result<Values> {
        let (what, root) = ("ncclBroadcast", root as i32);
        Ok(match values {
            Values::F32(v) => {
                Values::F32(self.on_device(&v, what, |c, b| c.broadcast_in_place(b, root))?)
            }
            Values::F64(v) => {
                Values::F64(self.on_device(&v, what, |c, b| c.broadcast_in_place(b, root))?)
            }
            Values::U8(v) => {
                Values::U8(self.on_device(&v, what, |c, b| c.broadcast_in_place(b, root))?)
            }
        })
    }
}

impl Collective for Nccl {
    fn rank(&self) -> usize {
        self.thread.rank
    }
    fn world(&self) -> usize {
        self.thread.world
    }
    fn engine(&self) -> &'static str {
        "nccl"
    }
    fn all_reduce_sum(&self, values: Values) -> Pending {
        self.thread.sum(values)
    }
    fn broadcast(&self, values: Values, root: usize) -> Pending {
        self.thread.broadcast(values, root)
    }
}
