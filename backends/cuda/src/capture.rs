//! Stream capture for CUDA graphs: while a step is captured, the runtime's operations are
//! recorded into a graph instead of running, and every operation that cannot be replayed is
//! refused with its reason (a read back to the host, an upload of host data, a buffer the
//! allocator would have to `cudaMalloc`). Buffers the captured step frees go to a pool of the
//! graph's own, so nothing outside the graph can take memory that its replays write.
//! [`crate::TrainGraph`] is built on this.

use std::sync::atomic::Ordering;

use cudarc::driver::sys::{CUgraphInstantiate_flags, CUstreamCaptureMode};
use cudarc::driver::{CudaGraph, CudaSlice};

use crate::cache::Cache;
use crate::runtime::Runtime;

/// What the runtime keeps while a capture is under way.
pub(crate) struct Capture {
    /// Buffers the captured operations freed, reused by later ones in the same capture and
    /// owned by the graph afterwards.
    pub(crate) pool: Cache<CudaSlice<f32>>,
    /// Why the capture cannot be replayed, in the order the operations were refused.
    pub(crate) refused: Vec<String>,
    /// The replay's step offset (`u32` on the device), read by kernels whose scalars change
    /// every step (Adam's bias corrections): written before each launch of the graph.
    pub(crate) offset: CudaSlice<u32>,
    /// The reductions' partial sums (the runtime's buffer, moved here when the capture began,
    /// so that no later eager reduction can free or grow what the graph's nodes write).
    pub(crate) partials: Option<CudaSlice<f64>>,
}

/// A captured graph with the buffers it owns.
pub(crate) struct Captured {
    /// Declared first, so it is destroyed before the memory its nodes use.
    pub(crate) graph: CudaGraph,
    /// The buffers the captured step freed: the graph's nodes use them, so they are held
    /// (never read here) until the graph is dropped.
    pub(crate) _buffers: Cache<CudaSlice<f32>>,
    pub(crate) _partials: Option<CudaSlice<f64>>,
    pub(crate) offset: CudaSlice<u32>,
}

impl Runtime {
    /// Whether operations are being captured into a graph now.
    pub(crate) fn capturing(&self) -> bool {
        self.capturing.load(Ordering::Acquire)
    }

    /// Refuses an operation during a capture: the capture will fail with `why`.
    pub(crate) fn refuse(&self, why: String) {
        if let Ok(mut c) = self.capture.lock()
            && let Some(c) = c.as_mut()
        {
            c.refused.push(why);
        }
    }

    /// During a capture: a buffer of `len` floats from the capture's pool, else from the
    /// allocator's cache; never a new allocation (refused instead).
    pub(crate) fn take_captured(&self, len: usize) -> Option<CudaSlice<f32>> {
        let mut capture = self.capture.lock().ok()?;
        let c = capture.as_mut()?;
        if let Some(b) = c.pool.take_cached(len) {
            return Some(b);
        }
        if let Some(b) = self.pool.lock().ok().and_then(|mut p| p.take_cached(len)) {
            return Some(b);
        }
        c.refused.push(format!(
            "a buffer of {len} floats that the eager step before the capture did not leave in the \
             allocator's cache (the step's buffers must not depend on the step)"
        ));
        None
    }

    /// During a capture: hands `buf` to the capture state with `keep`. `Err` gives it back
    /// when no capture is under way.
    fn keep_captured<T>(&self, buf: T, keep: impl FnOnce(&mut Capture, T)) -> Result<(), T> {
        match self.capture.lock() {
            Ok(mut c) => match c.as_mut() {
                Some(c) => {
                    keep(c, buf);
                    Ok(())
                }
                None => Err(buf),
            },
            Err(_) => Err(buf),
        }
    }

    /// During a capture: keeps a freed buffer for the graph (`Err` when none is under way).
    pub(crate) fn give_captured(&self, buf: CudaSlice<f32>) -> Result<(), CudaSlice<f32>> {
        self.keep_captured(buf, |c, b| c.pool.give(b.len(), b))
    }

    /// The step offset of the capture under way, for a kernel that reads it (`None` when not
    /// capturing). `body` runs with the capture state locked.
    pub(crate) fn with_offset<R>(&self, body: impl FnOnce(&CudaSlice<u32>) -> R) -> Option<R> {
        let capture = self.capture.lock().ok()?;
        capture.as_ref().map(|c| body(&c.offset))
    }

    /// During a capture: the capture's partial-sums buffer when it holds `len` values (`None`
    /// after refusing: a larger one would need an allocation).
    pub(crate) fn take_captured_partials(&self, len: usize) -> Option<CudaSlice<f64>> {
        let mut capture = self.capture.lock().ok()?;
        let c = capture.as_mut()?;
        match c.partials.take() {
            Some(b) if b.len() >= len.max(1) => Some(b),
            other => {
                c.partials = other;
                c.refused.push(format!(
                    "a reduction over {len} partial sums, more than the eager step before the \
                     capture used"
                ));
                None
            }
        }
    }

    /// During a capture: returns the partial-sums buffer to the capture (`Err` when none is
    /// under way).
    pub(crate) fn give_captured_partials(&self, buf: CudaSlice<f64>) -> Result<(), CudaSlice<f64>> {
        self.keep_captured(buf, |c, b| c.partials = Some(b))
    }

    /// Starts capturing this device's stream into a graph.
    pub(crate) fn begin_capture(&self) -> Result<(), String> {
        let offset = self.stream.alloc_zeros::<u32>(1).map_err(|e| format!("cudaMalloc: {e}"))?;
        {
            let mut c = self.capture.lock().map_err(|_| "capture state poisoned".to_string())?;
            if c.is_some() {
                return Err("a capture is already under way on this device".into());
            }
            let partials = self.partials.lock().ok().and_then(|mut p| p.take());
            *c = Some(Capture { pool: Cache::default(), refused: Vec::new(), offset, partials });
        }
        self.capturing.store(true, Ordering::Release);
        if let Err(e) =
            self.stream.begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
        {
            self.capturing.store(false, Ordering::Release);
            if let Ok(mut c) = self.capture.lock() {
                *c = None;
            }
            return Err(format!("cuStreamBeginCapture: {e}"));
        }
        Ok(())
    }

    /// Ends the capture and instantiates its graph; `Err` names every refused operation (or
    /// the driver's reason) and leaves the device usable, running operations again.
    pub(crate) fn end_capture(&self) -> Result<Captured, String> {
        let ended = self.stream.end_capture(CUgraphInstantiate_flags(0));
        self.capturing.store(false, Ordering::Release);
        let state = self.capture.lock().ok().and_then(|mut c| c.take());
        let failure = self.take_error();
        let Some(Capture { pool, refused, offset, partials }) = state else {
            return Err("the capture state was lost (poisoned by a panic)".into());
        };
        let graph = if !refused.is_empty() {
            let mut why = refused;
            why.dedup();
            Err(why.join("; "))
        } else if let Some(e) = failure {
            Err(e)
        } else {
            match ended {
                Ok(Some(graph)) => Ok(graph),
                Ok(None) => Err("the capture recorded no operation".into()),
                Err(e) => Err(format!("cuStreamEndCapture: {e}")),
            }
        };
        match graph {
            Ok(graph) => Ok(Captured { graph, _buffers: pool, _partials: partials, offset }),
            Err(why) => {
                // What the refused capture used goes back to the cache and the runtime.
                let mut pool = pool;
                for b in pool.drain() {
                    self.give(b);
                }
                if let Some(p) = partials {
                    self.give_partials(p);
                }
                Err(why)
            }
        }
    }
}
