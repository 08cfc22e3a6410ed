//! `impl Device for Cuda`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use shapeflow_core::backend::Device;

impl Device for Cuda {
    type Elem = f32;
    type Storage = CudaBuf;

    fn name(&self) -> String {
        format!("cuda-f32 ({})", self.device_name())
    }
    fn zeros(&self, len: usize) -> CudaBuf {
        CudaBuf::zeros(&self.rt, len)
    }
    fn upload(&self, data: &[f32]) -> CudaBuf {
        upload_to(&self.rt, data)
    }
    fn zeros_like(like: &CudaBuf, len: usize) -> CudaBuf {
        CudaBuf::zeros(&like.rt, len)
    }
    fn scratch_like(like: &CudaBuf, len: usize) -> CudaBuf {
        CudaBuf::scratch(&like.rt, len)
    }
    fn upload_like(like: &CudaBuf, data: &[f32]) -> CudaBuf {
        upload_to(&like.rt, data)
    }
    fn to_host(s: &CudaBuf) -> Vec<f32> {
        let Some(d) = s.data.as_ref().filter(|_| !s.rt.failed()) else {
            return vec![f32::NAN; s.len];
        };
        match s.rt.read_back(d, s.len) {
            Ok(v) => v,
            Err(e) => {
                s.rt.record(e);
                vec![f32::NAN; s.len]
            }
        }
    }
    fn len(s: &CudaBuf) -> usize {
        s.len
    }
    fn fill(s: &mut CudaBuf, v: f32) {
        let n = s.len;
        let rt = s.rt.clone();
        if let Some(d) = s.data.as_mut() {
            launch!(&rt, "fill", Runtime::grid(n), d, &v, &n);
        }
    }
}
