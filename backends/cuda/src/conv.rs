//! `impl Conv for Cuda`, kernels in `kernels/conv.cu`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use shapeflow_core::backend::{Conv, Window2d};

impl Conv for Cuda {
    unsafe fn im2col_unchecked(x: &CudaBuf, cols: &mut CudaBuf, g: Window2d) {
        let rt = cols.rt.clone();
        let Some(geom) = Geom::new(&rt, g) else { return };
        let n = g.col_rows() * g.n * g.col_cols();
        if let (Some(xd), Some(cd)) = (x.data.as_ref(), cols.data.as_mut()) {
            launch!(&rt, "im2col", Runtime::grid(n), xd, cd, &geom);
        }
    }
    unsafe fn col2im_unchecked(cols: &CudaBuf, dx: &mut CudaBuf, g: Window2d) {
        let rt = dx.rt.clone();
        let Some(geom) = Geom::new(&rt, g) else { return };
        let n = g.n * g.c * g.h * g.w;
        if let (Some(cd), Some(dd)) = (cols.data.as_ref(), dx.data.as_mut()) {
            launch!(&rt, "col2im", Runtime::grid(n), cd, dd, &geom);
        }
    }
}
