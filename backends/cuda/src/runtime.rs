//! Per-device state: the stream, the kernels NVRTC compiled for this device, cuBLAS, a caching
//! allocator, and the first error of an asynchronous operation.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig};

use crate::kernels::{SOURCES, compile, kernel_names};

/// The device's compiled kernels and services, shared by every buffer on it.
pub struct Runtime {
    pub(crate) stream: Arc<CudaStream>,
    pub(crate) blas: CudaBlas,
    functions: HashMap<&'static str, CudaFunction>,
    pool: Mutex<BTreeMap<usize, Vec<CudaSlice<f32>>>>,
    /// Small per-call buffers (reduction partials, labels), kept between calls.
    partials: Mutex<Option<CudaSlice<f64>>>,
    labels: Mutex<Option<CudaSlice<i32>>>,
    error: Mutex<Option<String>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Runtime({} kernels)", self.functions.len())
    }
}

/// The NVRTC architecture for compute capability `major.minor`; `Err` for devices older than
/// the kernels support (7.x and below), instead of compiling for sm_80 code they cannot run.
fn arch_for(major: i32, minor: i32) -> Result<&'static str, String> {
    match (major, minor) {
        (9, _) => Ok("sm_90"),
        (8, 9) => Ok("sm_89"),
        (8, 6) => Ok("sm_86"),
        (8, _) => Ok("sm_80"),
        (m, _) if m >= 10 => Ok("sm_90"),
        (m, n) => Err(format!(
            "GPU of compute capability {m}.{n}: shapeflow's CUDA kernels need 8.0 or newer"
        )),
    }
}

impl Runtime {
    /// Compiles every kernel for the device's architecture and loads them.
    pub(crate) fn new(ctx: &Arc<CudaContext>, stream: Arc<CudaStream>) -> Result<Runtime, String> {
        use cudarc::driver::sys::CUdevice_attribute::*;
        let major = ctx
            .attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
            .map_err(|e| e.to_string())?;
        let minor = ctx
            .attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
            .map_err(|e| e.to_string())?;
        let arch = arch_for(major, minor)?;
        let mut functions = HashMap::new();
        for (name, source) in SOURCES {
            let ptx = compile(name, source, arch)?;
            let module = ctx.load_module(ptx).map_err(|e| format!("loading {name}: {e}"))?;
            for k in kernel_names(source) {
                let f =
                    module.load_function(k).map_err(|e| format!("kernel `{k}` of {name}: {e}"))?;
                functions.insert(k, f);
            }
        }
        let blas = CudaBlas::new(stream.clone()).map_err(|e| format!("cuBLAS: {e}"))?;
        Ok(Runtime {
            stream,
            blas,
            functions,
            pool: Mutex::new(BTreeMap::new()),
            partials: Mutex::new(None),
            labels: Mutex::new(None),
            error: Mutex::new(None),
        })
    }

    /// A compiled kernel.
    pub(crate) fn function(&self, name: &str) -> Option<&CudaFunction> {
        self.functions.get(name)
    }

    /// Records the first failure of an operation (kernels cannot return errors through the
    /// backend's signatures); later operations are skipped and [`crate::Cuda::check`] reports it.
    pub(crate) fn record(&self, message: String) {
        if let Ok(mut e) = self.error.lock()
            && e.is_none()
        {
            *e = Some(message);
        }
    }

    /// Whether an earlier operation failed.
    pub(crate) fn failed(&self) -> bool {
        self.error.lock().map(|e| e.is_some()).unwrap_or(true)
    }

    /// The first recorded failure, if any.
    pub(crate) fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    /// A device buffer of `len` floats from the cache (contents unspecified), or a fresh one.
    pub(crate) fn take(&self, len: usize) -> Option<CudaSlice<f32>> {
        let len = len.max(1);
        if let Some(buf) =
            self.pool.lock().ok().and_then(|mut p| p.get_mut(&len).and_then(Vec::pop))
        {
            return Some(buf);
        }
        // SAFETY: the buffer is uninitialised device memory; every caller either zero-fills it
        // or overwrites every element before reading (the backend's scratch contract).
        match unsafe { self.stream.alloc::<f32>(len) } {
            Ok(b) => Some(b),
            Err(e) => {
                self.record(format!("cudaMalloc of {len} floats: {e}"));
                None
            }
        }
    }

    /// Returns a buffer to the cache.
    pub(crate) fn give(&self, buf: CudaSlice<f32>) {
        if let Ok(mut p) = self.pool.lock() {
            p.entry(buf.len()).or_default().push(buf);
        }
    }

    /// A zeroed `f64` buffer of at least `len` elements for reduction partials, reused between
    /// calls (grown when too small). Give it back with [`Runtime::give_partials`].
    pub(crate) fn take_partials(&self, len: usize) -> Option<CudaSlice<f64>> {
        let cached = self.partials.lock().ok().and_then(|mut p| p.take());
        let mut buf = match cached {
            Some(b) if b.len() >= len.max(1) => b,
            _ => match self.stream.alloc_zeros::<f64>(len.max(1)) {
                Ok(b) => b,
                Err(e) => {
                    self.record(format!("cudaMalloc of {len} doubles: {e}"));
                    return None;
                }
            },
        };
        if let Err(e) = self.stream.memset_zeros(&mut buf) {
            self.record(format!("memset: {e}"));
        }
        Some(buf)
    }

    /// Returns the partials buffer for the next call.
    pub(crate) fn give_partials(&self, buf: CudaSlice<f64>) {
        if let Ok(mut p) = self.partials.lock() {
            *p = Some(buf);
        }
    }

    /// Class labels on the device, in a buffer reused between calls.
    pub(crate) fn take_labels(&self, labels: &[usize]) -> Option<CudaSlice<i32>> {
        let host: Vec<i32> = labels.iter().map(|&l| i32::try_from(l).unwrap_or(0)).collect();
        let cached = self.labels.lock().ok().and_then(|mut p| p.take());
        let mut buf = match cached {
            Some(b) if b.len() >= host.len().max(1) => b,
            _ => match self.stream.alloc_zeros::<i32>(host.len().max(1)) {
                Ok(b) => b,
                Err(e) => {
                    self.record(format!("cudaMalloc of {} labels: {e}", host.len()));
                    return None;
                }
            },
        };
        if !host.is_empty() {
            let mut view = buf.slice_mut(..host.len());
            if let Err(e) = self.stream.memcpy_htod(&host, &mut view) {
                self.record(format!("uploading labels: {e}"));
            }
        }
        Some(buf)
    }

    /// Row indices on the device, in a fresh buffer (several may be live at once); an index
    /// beyond `i32` (the callers' "invalid" marker `usize::MAX`) becomes -1.
    pub(crate) fn upload_indices(&self, rows: &[usize]) -> Option<CudaSlice<i32>> {
        let host: Vec<i32> = rows.iter().map(|&l| i32::try_from(l).unwrap_or(-1)).collect();
        let host = if host.is_empty() { vec![0] } else { host };
        match self.stream.clone_htod(&host) {
            Ok(b) => Some(b),
            Err(e) => {
                self.record(format!("uploading {} row indices: {e}", host.len()));
                None
            }
        }
    }

    /// Returns the labels buffer for the next call.
    pub(crate) fn give_labels(&self, buf: CudaSlice<i32>) {
        if let Ok(mut p) = self.labels.lock() {
            *p = Some(buf);
        }
    }

    /// A launch configuration for a grid-stride loop over `n` elements.
    pub(crate) fn grid(n: usize) -> LaunchConfig {
        crate::shapes::grid_stride(n).into()
    }

    /// One block per item (per-channel reductions).
    pub(crate) fn per_item(items: usize) -> LaunchConfig {
        crate::shapes::per_item(items).into()
    }
}

#[cfg(test)]
mod tests {
    use super::arch_for;

    #[test]
    fn compute_capabilities_map_to_architectures_or_a_clear_error() {
        assert_eq!(arch_for(9, 0), Ok("sm_90"));
        assert_eq!(arch_for(8, 6), Ok("sm_86"));
        assert_eq!(arch_for(8, 7), Ok("sm_80"));
        assert_eq!(arch_for(10, 0), Ok("sm_90"));
        let err = arch_for(7, 5).unwrap_err();
        assert!(err.contains("7.5") && err.contains("8.0"), "{err}");
    }
}
