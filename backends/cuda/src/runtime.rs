//! Per-device state: the stream, the kernels NVRTC compiled for this device, cuBLAS, a caching
//! allocator, and the first error of an asynchronous operation.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use cudarc::cublas::CudaBlas;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PinnedHostSlice,
};

use crate::arch::{self, Target, Versions};
use crate::cache::Cache;
use crate::kernels::{SOURCES, compile, kernel_names, nvrtc_version, supported_archs};

/// The device's compiled kernels and services, shared by every buffer on it.
pub struct Runtime {
    pub(crate) stream: Arc<CudaStream>,
    pub(crate) blas: CudaBlas,
    functions: HashMap<&'static str, CudaFunction>,
    /// How the kernels were built and loaded, for [`crate::Cuda::kernels`].
    pub(crate) kernels: String,
    pub(crate) pool: Mutex<Cache<CudaSlice<f32>>>,
    /// Whether a graph capture is under way, and its state ([`crate::capture`]).
    pub(crate) capturing: AtomicBool,
    pub(crate) capture: Mutex<Option<crate::capture::Capture>>,
    /// Small per-call buffers (reduction partials, labels), kept between calls.
    pub(crate) partials: Mutex<Option<CudaSlice<f64>>>,
    labels: Mutex<Option<CudaSlice<i32>>>,
    error: Mutex<Option<String>>,
    staging: Mutex<Staging>,
}

/// Page-locked host buffers the copies go through: one for readbacks (grown as needed), and
/// uploads' by length (a training loop uploads the same few sizes every step).
#[derive(Default)]
struct Staging {
    down: Option<PinnedHostSlice<f32>>,
    up: Cache<PinnedHostSlice<f32>>,
}

/// Most floats kept in upload staging buffers between uploads (64 MiB).
const UPLOAD_STAGING_LIMIT: usize = 16 << 20;

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Runtime({} kernels)", self.functions.len())
    }
}

/// Compiles and loads every kernel file as `target`.
fn load_all(
    ctx: &Arc<CudaContext>,
    target: Target,
) -> Result<HashMap<&'static str, CudaFunction>, String> {
    let mut functions = HashMap::new();
    for (name, source) in SOURCES {
        let image = compile(name, source, target)?;
        let module = ctx
            .load_module(cudarc::nvrtc::Ptx::from_binary(image.bytes))
            .map_err(|e| format!("loading {name} as {target}: {e}"))?;
        for k in kernel_names(source) {
            let f = module.load_function(k).map_err(|e| format!("kernel `{k}` of {name}: {e}"))?;
            functions.insert(k, f);
        }
    }
    Ok(functions)
}

/// The driver's version, e.g. 13000 for 13.0.
fn driver_version() -> Result<i32, String> {
    let mut v = 0;
    // SAFETY: writes one int; the driver library is loaded (checked by `Cuda::new`).
    unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) }
        .result()
        .map_err(|e| format!("cuDriverGetVersion: {e}"))?;
    Ok(v)
}

impl Runtime {
    /// Compiles every kernel for the device ([`crate::arch::choose`]: CUBIN for its exact
    /// architecture, else PTX the driver can read) and loads them; when the CUBIN does not
    /// load, the PTX fallback is tried and a failure of both names both.
    pub(crate) fn new(ctx: &Arc<CudaContext>, stream: Arc<CudaStream>) -> Result<Runtime, String> {
        use cudarc::driver::sys::CUdevice_attribute::*;
        let major = ctx
            .attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
            .map_err(|e| e.to_string())?;
        let minor = ctx
            .attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
            .map_err(|e| e.to_string())?;
        let cc = (major, minor);
        let versions = Versions::new(nvrtc_version()?, driver_version()?);
        let archs = supported_archs()?;
        let first = arch::choose(cc, &archs, versions)?;
        let (functions, target) = match load_all(ctx, first) {
            Ok(f) => (f, first),
            Err(e) if matches!(first, Target::Cubin(_)) => {
                let ptx = arch::ptx_for(cc, &archs, versions).map_err(|p| format!("{e}; {p}"))?;
                (load_all(ctx, ptx).map_err(|p| format!("{e}; then {p}"))?, ptx)
            }
            Err(e) => return Err(e),
        };
        let kernels = format!(
            "{} kernels as {target} (compute capability {major}.{minor}, NVRTC {}.{}, driver {}.{})",
            functions.len(),
            versions.nvrtc.0,
            versions.nvrtc.1,
            versions.driver.0,
            versions.driver.1
        );
        let blas = CudaBlas::new(stream.clone()).map_err(|e| format!("cuBLAS: {e}"))?;
        Ok(Runtime {
            stream,
            blas,
            functions,
            kernels,
            pool: Mutex::new(Cache::default()),
            capturing: AtomicBool::new(false),
            capture: Mutex::new(None),
            partials: Mutex::new(None),
            labels: Mutex::new(None),
            error: Mutex::new(None),
            staging: Mutex::new(Staging::default()),
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

    /// Makes this device's context current on the calling thread, as cuBLAS needs (kernel
    /// launches and copies bind it themselves); `false` after recording a failure.
    pub(crate) fn bind(&self) -> bool {
        match self.stream.context().bind_to_thread() {
            Ok(()) => true,
            Err(e) => {
                self.record(format!("binding the CUDA context to this thread: {e}"));
                false
            }
        }
    }

    /// Whether an earlier operation failed.
    pub(crate) fn failed(&self) -> bool {
        self.error.lock().map(|e| e.is_some()).unwrap_or(true)
    }

    /// A device buffer of `len` floats from the cache (contents unspecified), or a fresh one;
    /// when `cudaMalloc` fails the cache is released and the allocation retried once.
    pub(crate) fn take(&self, len: usize) -> Option<CudaSlice<f32>> {
        let len = len.max(1);
        if self.capturing() {
            return self.take_captured(len);
        }
        let Ok(mut pool) = self.pool.lock() else {
            self.record("the allocator's cache was poisoned by a panic".into());
            return None;
        };
        let mut tries = 0;
        let got = pool.take(len, |n| {
            if tries == 0 {
                shapeflow_core::profile::buffer_taken(n * std::mem::size_of::<f32>(), true);
            }
            tries += 1;
            if tries > 1 {
                // The released buffers are freed in stream order: let that happen first.
                let _ = self.stream.synchronize();
            }
            // SAFETY: the buffer is uninitialised device memory; every caller either
            // zero-fills it or overwrites every element before reading (the backend's scratch
            // contract).
            unsafe { self.stream.alloc::<f32>(n) }
        });
        if tries == 0 {
            shapeflow_core::profile::buffer_taken(len * std::mem::size_of::<f32>(), false);
        }
        match got {
            Ok(b) => Some(b),
            Err(e) => {
                self.record(format!(
                    "cudaMalloc of {len} floats failed after releasing the allocator's cache: {e}"
                ));
                None
            }
        }
    }

    /// The first `len` floats of `d`, copied through a page-locked buffer; returns after the
    /// copy has finished (it is asynchronous: waiting on its event is what makes the read
    /// safe). Without page-locked memory, a plain copy followed by a stream synchronisation.
    pub(crate) fn read_back(&self, d: &CudaSlice<f32>, len: usize) -> Result<Vec<f32>, String> {
        if self.capturing() {
            let why = format!("a read of {len} values back to the host inside the step");
            self.refuse(why.clone());
            return Err(why);
        }
        let len = len.min(d.len());
        let view = d.slice(..len);
        let mut staging =
            self.staging.lock().map_err(|_| "staging buffers poisoned".to_string())?;
        if staging.down.as_ref().is_none_or(|b| b.len() < len) {
            staging.down = None;
            // SAFETY: page-locked host memory (flags 0: cached, so the CPU reads it fast), written
            // only by the copy below and read only after that copy's event.
            let fresh = unsafe {
                self.stream.context().alloc_pinned_with_flags::<f32>(len.next_power_of_two(), 0)
            };
            staging.down = fresh.ok();
        }
        match staging.down.as_mut() {
            Some(down) => {
                self.stream
                    .memcpy_dtoh(&view, down)
                    .map_err(|e| format!("device-to-host copy: {e}"))?;
                // `as_slice` waits for the event the copy recorded.
                let host = down.as_slice().map_err(|e| format!("waiting for a copy: {e}"))?;
                Ok(host[..len].to_vec())
            }
            None => {
                let host = self
                    .stream
                    .clone_dtoh(&view)
                    .map_err(|e| format!("device-to-host copy: {e}"))?;
                self.stream.synchronize().map_err(|e| format!("synchronize: {e}"))?;
                Ok(host)
            }
        }
    }

    /// Copies `data` into `dst` through a page-locked buffer of its length, reused by later
    /// uploads of that length once this copy has read it (its event).
    pub(crate) fn upload(&self, data: &[f32], dst: &mut CudaSlice<f32>) -> Result<(), String> {
        let n = data.len();
        if self.capturing() {
            let why = format!("an upload of {n} host values inside the step");
            self.refuse(why.clone());
            return Err(why);
        }
        let mut view = dst.slice_mut(..n.min(dst.len()));
        let mut staging =
            self.staging.lock().map_err(|_| "staging buffers poisoned".to_string())?;
        // SAFETY: page-locked, write-combined host memory: the CPU only writes it, below.
        let pinned =
            staging.up.take(n, |n| unsafe { self.stream.context().alloc_pinned::<f32>(n) });
        let Ok(mut pinned) = pinned else {
            // No page-locked memory: a pageable copy (the driver stages it before returning).
            return self
                .stream
                .memcpy_htod(data, &mut view)
                .map_err(|e| format!("host-to-device copy: {e}"));
        };
        // `as_mut_slice` waits until this buffer's previous copy has read it.
        let host = pinned.as_mut_slice().map_err(|e| format!("waiting for a copy: {e}"))?;
        host.copy_from_slice(data);
        let copied = self
            .stream
            .memcpy_htod(&pinned, &mut view)
            .map_err(|e| format!("host-to-device copy: {e}"));
        staging.up.give(n, pinned);
        if staging.up.held() > UPLOAD_STAGING_LIMIT {
            staging.up.clear();
        }
        copied
    }

    /// Returns a buffer to the cache.
    pub(crate) fn give(&self, buf: CudaSlice<f32>) {
        let buf = if self.capturing() {
            match self.give_captured(buf) {
                Ok(()) => return,
                Err(buf) => buf,
            }
        } else {
            buf
        };
        if let Ok(mut p) = self.pool.lock() {
            p.give(buf.len(), buf);
        }
    }

    /// Frees every cached buffer; returns the bytes released.
    pub(crate) fn empty_cache(&self) -> usize {
        match self.pool.lock() {
            Ok(mut p) => {
                let held = p.held() * std::mem::size_of::<f32>();
                p.clear();
                held
            }
            Err(_) => 0,
        }
    }

    /// Bytes held by cached buffers.
    pub(crate) fn cached_bytes(&self) -> usize {
        self.pool.lock().map(|p| p.held() * std::mem::size_of::<f32>()).unwrap_or(0)
    }

    /// Takes the first recorded failure, clearing it so that later operations run again.
    pub(crate) fn take_error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }

    /// A zeroed `f64` buffer of at least `len` elements for reduction partials, reused between
    /// calls (grown when too small). Give it back with [`Runtime::give_partials`].
    pub(crate) fn take_partials(&self, len: usize) -> Option<CudaSlice<f64>> {
        let cached = if self.capturing() {
            self.take_captured_partials(len)
        } else {
            self.partials.lock().ok().and_then(|mut p| p.take())
        };
        let mut buf = match cached {
            Some(b) if b.len() >= len.max(1) => b,
            _ if self.capturing() => return None,
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
        let buf = if self.capturing() {
            match self.give_captured_partials(buf) {
                Ok(()) => return,
                Err(buf) => buf,
            }
        } else {
            buf
        };
        if let Ok(mut p) = self.partials.lock() {
            *p = Some(buf);
        }
    }

    /// Class labels on the device, in a buffer reused between calls.
    pub(crate) fn take_labels(&self, labels: &[usize]) -> Option<CudaSlice<i32>> {
        if self.capturing() {
            self.refuse(format!("an upload of {} class labels inside the step", labels.len()));
            return None;
        }
        let host = labels
            .iter()
            .map(|&l| crate::launch::fits_i32(self, "class label", l))
            .collect::<Option<Vec<i32>>>()?;
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
        if self.capturing() {
            self.refuse(format!(
                "an upload of {} host indices (sequence lengths or row ids) inside the step",
                rows.len()
            ));
            return None;
        }
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
