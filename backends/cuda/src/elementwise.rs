//! `impl Elementwise for Cuda`, kernels in `kernels/elementwise.cu`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use shapeflow_core::Activation;
use shapeflow_core::backend::Elementwise;

impl Elementwise for Cuda {
    unsafe fn activation_unchecked(kind: Activation, x: &CudaBuf, y: &mut CudaBuf) {
        let (code, slope) = act_code(kind);
        let (rt, n) = (y.rt.clone(), y.len);
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "activation", Runtime::grid(n), xd, yd, &code, &slope, &n);
        }
    }
    unsafe fn activation_backward_unchecked(
        kind: Activation,
        saved: &CudaBuf,
        dy: &CudaBuf,
        dx: &mut CudaBuf,
    ) {
        let (code, slope) = act_code(kind);
        let (rt, n) = (dx.rt.clone(), dx.len);
        if let (Some(sd), Some(gd), Some(dd)) =
            (saved.data.as_ref(), dy.data.as_ref(), dx.data.as_mut())
        {
            launch!(&rt, "activation_backward", Runtime::grid(n), sd, gd, dd, &code, &slope, &n);
        }
    }
    unsafe fn mul_unchecked(a: &CudaBuf, b: &CudaBuf, out: &mut CudaBuf) {
        let (rt, n) = (out.rt.clone(), out.len);
        if let (Some(ad), Some(bd), Some(od)) =
            (a.data.as_ref(), b.data.as_ref(), out.data.as_mut())
        {
            launch!(&rt, "mul", Runtime::grid(n), ad, bd, od, &n);
        }
    }
    unsafe fn sub_unchecked(a: &CudaBuf, b: &CudaBuf, out: &mut CudaBuf) {
        let (rt, n) = (out.rt.clone(), out.len);
        if let (Some(ad), Some(bd), Some(od)) =
            (a.data.as_ref(), b.data.as_ref(), out.data.as_mut())
        {
            launch!(&rt, "sub", Runtime::grid(n), ad, bd, od, &n);
        }
    }
    unsafe fn axpy_unchecked(alpha: f32, x: &CudaBuf, y: &mut CudaBuf) {
        let (rt, n) = (y.rt.clone(), y.len);
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "axpy", Runtime::grid(n), &alpha, xd, yd, &n);
        }
    }
    fn scale(x: &mut CudaBuf, alpha: f32) {
        let (rt, n) = (x.rt.clone(), x.len);
        if let Some(xd) = x.data.as_mut() {
            launch!(&rt, "scale", Runtime::grid(n), xd, &alpha, &n);
        }
    }
    fn clamp(x: &mut CudaBuf, lo: f64, hi: f64) {
        let (rt, n) = (x.rt.clone(), x.len);
        let (lo, hi) = (lo as f32, hi as f32);
        if let Some(xd) = x.data.as_mut() {
            launch!(&rt, "clamp", Runtime::grid(n), xd, &lo, &hi, &n);
        }
    }
    fn sum(x: &CudaBuf) -> f64 {
        reduce(x, "sum")
    }
    fn sum_squares(x: &CudaBuf) -> f64 {
        reduce(x, "sum_squares")
    }
    unsafe fn mul_rows_broadcast_unchecked(
        x: &CudaBuf,
        m: &CudaBuf,
        y: &mut CudaBuf,
        rows: usize,
        inner: usize,
    ) {
        let rt = y.rt.clone();
        if let (Some(xd), Some(md), Some(yd)) = (x.data.as_ref(), m.data.as_ref(), y.data.as_mut())
        {
            launch!(
                &rt,
                "mul_rows_broadcast",
                Runtime::grid(rows * inner),
                xd,
                md,
                yd,
                &rows,
                &inner
            );
        }
    }
    fn dropout_mask(mask: &mut CudaBuf, p: f64, seed: u64) {
        let (rt, n) = (mask.rt.clone(), mask.len);
        if let Some(md) = mask.data.as_mut() {
            launch!(&rt, "dropout_mask", Runtime::grid(n), md, &p, &seed, &n);
        }
    }
}
