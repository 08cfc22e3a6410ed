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
mod conv;
mod device;
mod elementwise;
mod linalg;
mod norm;
mod optim;
mod pool;
mod rows;
mod sequence;

pub mod kernels;
mod runtime;
pub mod shapes;
mod storage;

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
        let stream = ctx.default_stream();
        let rt = runtime::Runtime::new(&ctx, stream.clone()).map_err(Error::Backend)?;
        Ok(Cuda { ctx, stream, name, rt: Arc::new(rt) })
    }

    /// Waits for the device and reports the first failure of any earlier operation (kernel
    /// launches are asynchronous and the backend's kernels return no `Result`).
    pub fn check(&self) -> Result<()> {
        if let Err(e) = self.stream.synchronize() {
            self.rt.record(format!("synchronize: {e}"));
        }
        match self.rt.error() {
            Some(e) => Err(Error::Backend(e)),
            None => Ok(()),
        }
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
        let status = unsafe { cublasSetMathMode(*self.rt.blas.handle(), mode) };
        if status == cublasStatus_t::CUBLAS_STATUS_SUCCESS {
            Ok(())
        } else {
            Err(Error::Backend(format!("cublasSetMathMode: {status:?}")))
        }
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
                println!("skipped: {e}");
                assert!(e.to_string().contains("CUDA"), "{e}");
            }
        }
    }
}
