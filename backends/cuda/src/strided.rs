//! `impl Strided for Cuda`, kernels in `kernels/strided.cu`: elementwise functions and their
//! derivatives, broadcast binary ops, select, strided copies, reductions along an axis, and
//! gathers and scatter-adds along an axis (the host's indices uploaded per call).

use cudarc::driver::DeviceRepr;
use shapeflow_core::Dims;
use shapeflow_core::backend::{Around, BinaryOp, ReduceOp, Strided, UnaryOp, View};

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;

/// Up to three views over one index space, as the kernels take it (`struct StridedGeom` in
/// strided.cu).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct StridedGeom {
    rank: i64,
    dims: [i64; 6],
    off: [i64; 3],
    strides: [[i64; 6]; 3],
}

// SAFETY: `StridedGeom` is `repr(C)` plain data of 64-bit integers, laid out exactly as the
// kernels' struct (no padding: every field is an `i64` or an array of them).
unsafe impl DeviceRepr for StridedGeom {}

impl StridedGeom {
    /// The geometry of `dims` read through `views` (at most three).
    pub fn new(dims: &Dims, views: &[View]) -> StridedGeom {
        let mut g = StridedGeom { rank: dims.rank() as i64, ..Default::default() };
        for (d, &s) in g.dims.iter_mut().zip(dims.as_slice()) {
            *d = s as i64;
        }
        for (i, v) in views.iter().enumerate().take(3) {
            g.off[i] = v.offset as i64;
            for (d, &s) in g.strides[i].iter_mut().zip(&v.strides) {
                *d = s as i64;
            }
        }
        g
    }
}

/// `idx` on the device as the kernels' `int`s; `None` after recording an error when an index
/// is not below `len` or `len` does not fit an `int` (the launch is then skipped, and
/// [`crate::Cuda::check`] reports it).
fn indices(rt: &Runtime, idx: &[usize], len: usize) -> Option<cudarc::driver::CudaSlice<i32>> {
    if i32::try_from(len).is_err() || idx.iter().any(|&i| i >= len) {
        rt.record(format!(
            "gather/scatter indices must be below the axis size {len} (and it below 2^31)"
        ));
        return None;
    }
    rt.upload_indices(idx)
}

/// The kernels' code and scalar parameters for `op` (`U_*` in strided.cu).
pub fn unary_code(op: UnaryOp) -> (i32, f32, f32) {
    let p = |v: f64| v as f32;
    match op {
        UnaryOp::Neg => (0, 0.0, 0.0),
        UnaryOp::Abs => (1, 0.0, 0.0),
        UnaryOp::Exp => (2, 0.0, 0.0),
        UnaryOp::Log => (3, 0.0, 0.0),
        UnaryOp::Log1p => (4, 0.0, 0.0),
        UnaryOp::Sqrt => (5, 0.0, 0.0),
        UnaryOp::Rsqrt => (6, 0.0, 0.0),
        UnaryOp::Recip => (7, 0.0, 0.0),
        UnaryOp::Square => (8, 0.0, 0.0),
        UnaryOp::Powf(e) => (9, p(e), 0.0),
        UnaryOp::Sin => (10, 0.0, 0.0),
        UnaryOp::Cos => (11, 0.0, 0.0),
        UnaryOp::Tanh => (12, 0.0, 0.0),
        UnaryOp::Sigmoid => (13, 0.0, 0.0),
        UnaryOp::Relu => (14, 0.0, 0.0),
        UnaryOp::Gelu => (15, 0.0, 0.0),
        UnaryOp::Silu => (16, 0.0, 0.0),
        UnaryOp::Softplus => (17, 0.0, 0.0),
        UnaryOp::Clamp(lo, hi) => (18, p(lo), p(hi)),
        UnaryOp::Sign => (19, 0.0, 0.0),
        UnaryOp::AddScalar(c) => (20, p(c), 0.0),
        UnaryOp::MulScalar(c) => (21, p(c), 0.0),
        UnaryOp::RsubScalar(c) => (22, p(c), 0.0),
        UnaryOp::RdivScalar(c) => (23, p(c), 0.0),
        UnaryOp::RpowScalar(c) => (24, p(c), 0.0),
    }
}

/// The kernels' code for `op` (`B_*` in strided.cu).
pub fn binary_code(op: BinaryOp) -> i32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Sub => 1,
        BinaryOp::Mul => 2,
        BinaryOp::Div => 3,
        BinaryOp::Maximum => 4,
        BinaryOp::Minimum => 5,
        BinaryOp::Pow => 6,
        BinaryOp::Eq => 7,
        BinaryOp::Ne => 8,
        BinaryOp::Lt => 9,
        BinaryOp::Le => 10,
        BinaryOp::Gt => 11,
        BinaryOp::Ge => 12,
    }
}

/// The kernels' code for `op` (`R_*` in strided.cu).
pub fn reduce_code(op: ReduceOp) -> i32 {
    match op {
        ReduceOp::Sum => 0,
        ReduceOp::Max => 1,
        ReduceOp::Min => 2,
        ReduceOp::ArgMax => 3,
        ReduceOp::ArgMin => 4,
    }
}

impl Strided for Cuda {
    unsafe fn unary_unchecked(op: UnaryOp, x: &CudaBuf, y: &mut CudaBuf) {
        let (code, p, q) = unary_code(op);
        let (rt, n) = (y.rt.clone(), y.len);
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "strided_unary", Runtime::grid(n), xd, yd, &code, &p, &q, &n);
        }
    }
    unsafe fn unary_grad_unchecked(
        op: UnaryOp,
        x: &CudaBuf,
        y: &CudaBuf,
        dy: &CudaBuf,
        dx: &mut CudaBuf,
    ) {
        let (code, p, q) = unary_code(op);
        let (rt, n) = (dx.rt.clone(), dx.len);
        if let (Some(xd), Some(yd), Some(gd), Some(dd)) =
            (x.data.as_ref(), y.data.as_ref(), dy.data.as_ref(), dx.data.as_mut())
        {
            launch!(&rt, "strided_unary_grad", Runtime::grid(n), xd, yd, gd, dd, &code, &p, &q, &n);
        }
    }
    unsafe fn binary_unchecked(
        op: BinaryOp,
        a: (&CudaBuf, View),
        b: (&CudaBuf, View),
        out: &mut CudaBuf,
        dims: &Dims,
    ) {
        let (code, g, n) = (binary_code(op), StridedGeom::new(dims, &[a.1, b.1]), dims.numel());
        let rt = out.rt.clone();
        if let (Some(ad), Some(bd), Some(od)) =
            (a.0.data.as_ref(), b.0.data.as_ref(), out.data.as_mut())
        {
            launch!(&rt, "strided_binary", Runtime::grid(n), ad, bd, od, &code, &g, &n);
        }
    }
    unsafe fn select_unchecked(
        mask: (&CudaBuf, View),
        a: (&CudaBuf, View),
        b: (&CudaBuf, View),
        out: &mut CudaBuf,
        dims: &Dims,
    ) {
        let (g, n) = (StridedGeom::new(dims, &[mask.1, a.1, b.1]), dims.numel());
        let rt = out.rt.clone();
        if let (Some(md), Some(ad), Some(bd), Some(od)) =
            (mask.0.data.as_ref(), a.0.data.as_ref(), b.0.data.as_ref(), out.data.as_mut())
        {
            launch!(&rt, "strided_select", Runtime::grid(n), md, ad, bd, od, &g, &n);
        }
    }
    unsafe fn reduce_unchecked(op: ReduceOp, x: &CudaBuf, around: Around, out: &mut CudaBuf) {
        let code = reduce_code(op);
        let Around { outer, n, inner } = around;
        let rt = out.rt.clone();
        if let (Some(xd), Some(od)) = (x.data.as_ref(), out.data.as_mut()) {
            launch!(
                &rt,
                "strided_reduce",
                Runtime::grid(outer * inner),
                xd,
                od,
                &code,
                &outer,
                &n,
                &inner
            );
        }
    }
    unsafe fn gather_unchecked(
        x: &CudaBuf,
        around: Around,
        idx: &[usize],
        k: usize,
        out: &mut CudaBuf,
    ) {
        let Around { outer, n, inner } = around;
        let rt = out.rt.clone();
        let Some(ids) = indices(&rt, idx, n) else { return };
        if let (Some(xd), Some(od)) = (x.data.as_ref(), out.data.as_mut()) {
            let total = outer * k * inner;
            launch!(
                &rt,
                "strided_gather",
                Runtime::grid(total),
                xd,
                &ids,
                od,
                &outer,
                &n,
                &inner,
                &k
            );
        }
    }
    unsafe fn scatter_add_unchecked(
        src: &CudaBuf,
        around: Around,
        idx: &[usize],
        k: usize,
        dst: &mut CudaBuf,
    ) {
        let Around { outer, n, inner } = around;
        let rt = dst.rt.clone();
        let Some(ids) = indices(&rt, idx, n) else { return };
        if let (Some(sd), Some(dd)) = (src.data.as_ref(), dst.data.as_mut()) {
            let total = outer * k * inner;
            launch!(
                &rt,
                "strided_scatter_add",
                Runtime::grid(total),
                sd,
                &ids,
                dd,
                &outer,
                &n,
                &inner,
                &k
            );
        }
    }
    unsafe fn copy_strided_unchecked(
        src: &CudaBuf,
        vs: View,
        dst: &mut CudaBuf,
        vd: View,
        dims: &Dims,
    ) {
        let (g, n) = (StridedGeom::new(dims, &[vs, vd]), dims.numel());
        let rt = dst.rt.clone();
        if let (Some(sd), Some(dd)) = (src.data.as_ref(), dst.data.as_mut()) {
            launch!(&rt, "strided_copy", Runtime::grid(n), sd, dd, &g, &n);
        }
    }
}
