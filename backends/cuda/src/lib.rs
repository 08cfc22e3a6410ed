//! shapeflow-cuda: the CUDA backend (cudarc, kernels compiled at run time by NVRTC).
//!
//! This crate builds on machines without any CUDA installation: cudarc loads the driver,
//! NVRTC and cuBLAS with `dlopen` at run time. [`Cuda::new`] checks that the driver library
//! is present before touching it and returns a clean `Err` otherwise.
//!
//! Status: the device handle and its checks are here; the kernels and the `Backend`
//! implementation are the CUDA issue's work.
//!
//! ```
//! match shapeflow_cuda::Cuda::new(0) {
//!     Ok(gpu) => println!("using {}", gpu.device_name()),
//!     Err(e) => println!("no GPU: {e}"),
//! }
//! ```
#![warn(missing_docs)]

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaStream};
use shapeflow_core::{Error, Result};

/// A CUDA device: a context and the stream every kernel of this handle runs on.
#[derive(Clone, Debug)]
pub struct Cuda {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    name: String,
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
        let name = ctx.name().unwrap_or_else(|_| format!("CUDA device {ordinal}"));
        let stream = ctx.default_stream();
        Ok(Cuda { ctx, stream, name })
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
