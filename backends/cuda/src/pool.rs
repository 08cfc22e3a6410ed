//! `impl Pool for Cuda`, kernels in `kernels/pool.cu`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use shapeflow_core::backend::{Pool, Window2d};

impl Pool for Cuda {
    unsafe fn max_pool2d_unchecked(
        x: &CudaBuf,
        y: &mut CudaBuf,
        argmax: &mut CudaBuf,
        g: Window2d,
    ) {
        let rt = y.rt.clone();
        let Some(geom) = Geom::new(&rt, g) else { return };
        let n = g.n * g.c * g.oh * g.ow;
        if let (Some(xd), Some(yd), Some(ad)) =
            (x.data.as_ref(), y.data.as_mut(), argmax.data.as_mut())
        {
            launch!(&rt, "max_pool2d", Runtime::grid(n), xd, yd, ad, &geom);
        }
    }
    unsafe fn max_pool2d_backward_unchecked(
        dy: &CudaBuf,
        argmax: &CudaBuf,
        dx: &mut CudaBuf,
        g: Window2d,
    ) {
        let rt = dx.rt.clone();
        let Some(geom) = Geom::new(&rt, g) else { return };
        let n = g.n * g.c * g.oh * g.ow;
        if let Some(dd) = dx.data.as_mut()
            && let Err(e) = rt.stream.memset_zeros(dd)
        {
            rt.record(format!("memset: {e}"));
        }
        if let (Some(gd), Some(ad), Some(dd)) =
            (dy.data.as_ref(), argmax.data.as_ref(), dx.data.as_mut())
        {
            launch!(&rt, "max_pool2d_backward", Runtime::grid(n), gd, ad, dd, &geom);
        }
    }
    unsafe fn avg_pool2d_unchecked(x: &CudaBuf, y: &mut CudaBuf, g: Window2d) {
        let rt = y.rt.clone();
        let Some(geom) = Geom::new(&rt, g) else { return };
        let n = g.n * g.c * g.oh * g.ow;
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "avg_pool2d", Runtime::grid(n), xd, yd, &geom);
        }
    }
    unsafe fn avg_pool2d_backward_unchecked(dy: &CudaBuf, dx: &mut CudaBuf, g: Window2d) {
        let rt = dx.rt.clone();
        let Some(geom) = Geom::new(&rt, g) else { return };
        let n = g.n * g.c * g.h * g.w;
        if let (Some(gd), Some(dd)) = (dy.data.as_ref(), dx.data.as_mut()) {
            launch!(&rt, "avg_pool2d_backward", Runtime::grid(n), gd, dd, &geom);
        }
    }
}
