//! shapeflow-cuda: the CUDA backend (cudarc, kernels compiled at run time by NVRTC).
//!
//! This crate builds on machines without any CUDA installation: cudarc loads the driver,
//! NVRTC and cuBLAS with `dlopen` at run time. [`Cuda::new`] checks that the driver library
//! is present before touching it and returns a clean `Err` otherwise.
//!
//! [`Cuda`] implements `shapeflow_core::Backend`: kernels in `kernels/*.cu`, compiled by NVRTC for
//! the device when it is opened, matrix products by cuBLAS (fp32, TF32 off), and a caching
//! allocator so a steady-state step makes no `cudaMalloc`/`cudaFree`.
//!
//! ```
//! match shapeflow_cuda::Cuda::new(0) {
//!     Ok(gpu) => println!("using {}", gpu.device_name()),
//!     Err(e) => println!("no GPU: {e}"),
//! }
//! ```
#![warn(missing_docs)]

// Shared launch helpers first: the family files use its `launch!` macro.
mod launch;

// Op families (`impl <Family> for Cuda`), one file each, beside `kernels/<family>.cu`.
mod attention;
mod conv;
mod device;
mod elementwise;
mod linalg;
mod norm;
mod optim;
mod pool;
mod rows;
mod sequence;
pub mod strided;

pub mod arch;
mod cache;
mod capture;
mod graph;
pub mod kernels;
mod runtime;
pub mod shapes;
mod storage;

pub use graph::TrainGraph;
pub use storage::CudaBuf;

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaStream};
use shapeflow_core::{Error, Result};

/// A CUDA device: a context and the stream every kernel of this handle runs on.
#[derive(Clone, Debug)]
pub struct Cuda {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    name: String,
    pub(crate) rt: Arc<runtime::Runtime>,
}

/// Whether the CUDA driver library (libcuda) can be loaded on this machine.
///
/// ```
/// let _available: bool = shapeflow_cuda::driver_present();
/// ```
pub fn driver_present() -> bool {
    // SAFETY: `is_culib_present` only attempts to dlopen the driver library and reports whether
    // that succeeded; it calls no CUDA function.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

impl Cuda {
    /// Opens GPU `ordinal`. An `Err` (never a panic) when no driver is installed, no device has
    /// that ordinal, or the context cannot be created.
    pub fn new(ordinal: usize) -> Result<Self> {
        if !driver_present() {
            return Err(Error::Backend(
                "no CUDA driver found: libcuda.so could not be loaded (install the NVIDIA driver, or use the Cpu backend)".into(),
            ));
        }
        let ctx = CudaContext::new(ordinal)
            .map_err(|e| Error::Backend(format!("cannot open CUDA device {ordinal}: {e}")))?;
        if !kernels::nvrtc_present() {
            return Err(Error::Backend(
                "NVRTC not found: libnvrtc.so could not be loaded (add the CUDA toolkit's lib64 to LD_LIBRARY_PATH)".into(),
            ));
        }
        // SAFETY: only tries to dlopen cuBLAS and reports whether that worked.
        if !unsafe { cudarc::cublas::sys::is_culib_present() } {
            return Err(Error::Backend(
                "cuBLAS not found: libcublas.so could not be loaded (add the CUDA toolkit's lib64 to LD_LIBRARY_PATH)".into(),
            ));
        }
        let name = ctx.name().unwrap_or_else(|_| format!("CUDA device {ordinal}"));
        // SAFETY: every buffer and operation of this handle is on its one stream, so stream
        // order alone orders each buffer's uses; cudarc's per-buffer events (recorded at every
        // launch, and waited on) would only add work, and they cannot be used inside a graph
        // capture. Set before any buffer is allocated.
        unsafe { ctx.disable_event_tracking() };
        // A stream of its own: the legacy default stream cannot be captured into a graph.
        let stream = ctx
            .new_stream()
            .map_err(|e| Error::Backend(format!("cannot create a CUDA stream: {e}")))?;
        let rt = runtime::Runtime::new(&ctx, stream.clone()).map_err(Error::Backend)?;
        Ok(Cuda { ctx, stream, name, rt: Arc::new(rt) })
    }

    /// Waits for the device and reports the first failure of any earlier operation (kernel
    /// launches are asynchronous and the backend's kernels return no `Result`). Operations
    /// after a failure are skipped (their results are NaN) until `check` has reported it;
    /// then the device runs again, so a caller that hit an allocation failure can free memory
    /// (or [`Cuda::empty_cache`]) and retry.
    ///
    /// ```no_run
    /// let gpu = shapeflow_cuda::Cuda::new(0).unwrap();
    /// gpu.check().unwrap();
    /// ```
    pub fn check(&self) -> Result<()> {
        if self.rt.capturing() {
            self.rt.refuse("a device synchronisation (`Cuda::check`) inside the step".into());
            return Err(Error::Backend(
                "Cuda::check inside a captured step: the device cannot be waited for while a graph is captured".into(),
            ));
        }
        if let Err(e) = self.stream.synchronize() {
            self.rt.record(format!("synchronize: {e}"));
        }
        match self.rt.take_error() {
            Some(e) => Err(Error::Backend(e)),
            None => Ok(()),
        }
    }

    /// Frees the device buffers the caching allocator holds for reuse (as
    /// `torch.cuda.empty_cache`); returns the bytes released. An allocation that fails does
    /// this itself before trying again.
    ///
    /// ```no_run
    /// let gpu = shapeflow_cuda::Cuda::new(0).unwrap();
    /// println!("{} bytes cached, {} released", gpu.cached_bytes(), gpu.empty_cache());
    /// ```
    pub fn empty_cache(&self) -> usize {
        self.rt.empty_cache()
    }

    /// Bytes of device memory the caching allocator holds for reuse.
    pub fn cached_bytes(&self) -> usize {
        self.rt.cached_bytes()
    }

    /// The device's free and total memory in bytes (`cuMemGetInfo`; the cache counts as used).
    ///
    /// ```no_run
    /// let gpu = shapeflow_cuda::Cuda::new(0).unwrap();
    /// let (free, total) = gpu.memory_info().unwrap();
    /// assert!(free <= total);
    /// ```
    pub fn memory_info(&self) -> Result<(usize, usize)> {
        self.ctx
            .bind_to_thread()
            .and_then(|()| cudarc::driver::result::mem_get_info())
            .map_err(|e| Error::Backend(format!("cuMemGetInfo: {e}")))
    }

    /// Lets cuBLAS use TF32 tensor cores for fp32 products (`true`), or keeps full fp32 (`false`,
    /// the default). TF32 rounds products' inputs to 10 mantissa bits.
    pub fn set_tf32(&self, on: bool) -> Result<()> {
        use cudarc::cublas::sys::{cublasMath_t, cublasSetMathMode, cublasStatus_t};
        let mode = if on {
            cublasMath_t::CUBLAS_TF32_TENSOR_OP_MATH
        } else {
            cublasMath_t::CUBLAS_DEFAULT_MATH
        };
        // SAFETY: the handle belongs to this device's live cuBLAS instance (owned by the
        // runtime, which outlives this call); setting the math mode has no other precondition.
        self.ctx
            .bind_to_thread()
            .map_err(|e| Error::Backend(format!("binding the CUDA context: {e}")))?;
        // SAFETY: as above; the context is current on this thread.
        let status = unsafe { cublasSetMathMode(*self.rt.blas.handle(), mode) };
        if status == cublasStatus_t::CUBLAS_STATUS_SUCCESS {
            Ok(())
        } else {
            Err(Error::Backend(format!("cublasSetMathMode: {status:?}")))
        }
    }

    /// How the kernels were built and loaded: e.g. `60 kernels as CUBIN for sm_90 (compute
    /// capability 9.0, NVRTC 13.0, driver 13.0)`.
    ///
    /// ```no_run
    /// let gpu = shapeflow_cuda::Cuda::new(0).unwrap();
    /// println!("{}", gpu.kernels());
    /// ```
    pub fn kernels(&self) -> &str {
        &self.rt.kernels
    }

    /// The device's name, e.g. `NVIDIA H100 80GB HBM3`.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// The underlying cudarc context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The stream kernels of this handle run on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_is_an_error_or_a_device_never_a_panic() {
        match Cuda::new(0) {
            Ok(gpu) => assert!(!gpu.device_name().is_empty()),
            Err(e) => {
                shapeflow_core::skip_test(&e);
                assert!(e.to_string().contains("CUDA"), "{e}");
            }
        }
    }
}
