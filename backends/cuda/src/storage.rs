//! `CudaBuf`: a device buffer that returns to its device's cache when dropped.

use std::sync::Arc;

use cudarc::driver::CudaSlice;

use crate::runtime::Runtime;

/// A buffer of `f32` on a CUDA device.
pub struct CudaBuf {
    pub(crate) data: Option<CudaSlice<f32>>,
    pub(crate) len: usize,
    pub(crate) rt: Arc<Runtime>,
}

impl CudaBuf {
    /// A buffer with unspecified contents (cached memory).
    pub(crate) fn scratch(rt: &Arc<Runtime>, len: usize) -> CudaBuf {
        let data = if rt.failed() { None } else { rt.take(len) };
        CudaBuf { data, len, rt: rt.clone() }
    }

    /// A zero-filled buffer.
    pub(crate) fn zeros(rt: &Arc<Runtime>, len: usize) -> CudaBuf {
        let mut b = Self::scratch(rt, len);
        if let Some(d) = b.data.as_mut()
            && let Err(e) = rt.stream.memset_zeros(d)
        {
            rt.record(format!("memset: {e}"));
        }
        b
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Clone for CudaBuf {
    fn clone(&self) -> Self {
        let mut out = CudaBuf::scratch(&self.rt, self.len);
        if let (Some(src), Some(dst)) = (self.data.as_ref(), out.data.as_mut())
            && let Err(e) = self.rt.stream.memcpy_dtod(src, dst)
        {
            self.rt.record(format!("device copy: {e}"));
        }
        out
    }
}

impl Drop for CudaBuf {
    fn drop(&mut self) {
        if let Some(d) = self.data.take() {
            self.rt.give(d);
        }
    }
}

impl std::fmt::Debug for CudaBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaBuf[{}]", self.len)
    }
}
