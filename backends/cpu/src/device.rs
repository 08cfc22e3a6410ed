//! `impl Device for CpuDevice`: pooled `Vec` buffers, and `on_workers` (`workers.rs`).

use shapeflow_core::backend::Device;

use crate::{CpuBuf, CpuDevice, CpuElem, workers};

impl<E: CpuElem> Device for CpuDevice<E> {
    type Elem = E;
    type Storage = CpuBuf<E>;

    fn name(&self) -> String {
        format!("cpu-{}", E::NAME)
    }
    fn zeros(&self, len: usize) -> CpuBuf<E> {
        CpuBuf::zeros(len)
    }
    fn upload(&self, data: &[E]) -> CpuBuf<E> {
        CpuBuf::from_slice(data)
    }
    fn zeros_like(_: &CpuBuf<E>, len: usize) -> CpuBuf<E> {
        CpuBuf::zeros(len)
    }
    /// On a rayon worker: called from another thread (such as `main`), every parallel kernel
    /// would hand its work to the workers and sleep until they finish, a wake-up per kernel;
    /// called from a worker, it shares the work and takes part itself. Meanwhile another worker
    /// spins on the pool's pending jobs (`workers.rs`) instead of sleeping between kernels.
    fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        workers::on_workers(f)
    }
    fn scratch_like(_: &CpuBuf<E>, len: usize) -> CpuBuf<E> {
        CpuBuf::scratch(len)
    }
    fn upload_like(_: &CpuBuf<E>, data: &[E]) -> CpuBuf<E> {
        CpuBuf::from_slice(data)
    }
    fn to_host(s: &CpuBuf<E>) -> Vec<E> {
        s.to_vec()
    }
    fn len(s: &CpuBuf<E>) -> usize {
        s.len()
    }
    fn fill(s: &mut CpuBuf<E>, v: E) {
        s.fill(v);
    }
}
