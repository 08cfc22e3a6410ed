//! What every family file shares: the `launch!` macro, launch shapes, the window geometry as the
//! kernels take it, host-side sums of partial results, and the row-major cuBLAS mapping.
//!
//! Kernel launches are asynchronous; the backend's signatures return no `Result`, so the first
//! failure is recorded on the device (see [`crate::Cuda::check`]), later operations are skipped,
//! and values read back to the host (losses, sums) become NaN, which the losses report as errors.

use std::sync::Arc;

use cudarc::cublas::{GemmConfig, sys::cublasOperation_t};
use cudarc::driver::{DeviceRepr, LaunchConfig};
use shapeflow_core::Activation;
use shapeflow_core::backend::Window2d;

use crate::runtime::Runtime;
use crate::storage::CudaBuf;

/// Launches kernel `$name` with `$cfg` and the given arguments, recording any failure.
macro_rules! launch {
    ($rt:expr, $name:expr, $cfg:expr, $($arg:expr),* $(,)?) => {{
        let rt: &Runtime = $rt;
        if !rt.failed() {
            match rt.function($name) {
                Some(f) => {
                    let mut b = rt.stream.launch_builder(f);
                    $( cudarc::driver::PushKernelArg::arg(&mut b, $arg); )*
                    // SAFETY: the arguments match the kernel's parameter list in kernels/*.cu
                    // (device buffers, then sizes as size_t = usize), and every buffer holds at
                    // least the elements the sizes describe: every launch runs inside a family's
                    // `*_unchecked` method, which the safe method calls only after
                    // `shapeflow_core::backend::contract` checked its buffers and indices
                    // against those sizes, or takes its size from its one buffer's own length
                    // (`fill`, `scale`, `clamp`, `sum`, `dropout_mask`); buffers that failed to
                    // allocate skip the launch.
                    if let Err(e) = unsafe { b.launch($cfg) } {
                        rt.record(format!("kernel `{}`: {e}", $name));
                    }
                }
                None => rt.record(format!("kernel `{}` is not loaded", $name)),
            }
        }
    }};
}
pub(crate) use launch;

/// Window geometry as the kernels take it (`struct Geom` in conv.cu and pool.cu).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    n: i32,
    c: i32,
    h: i32,
    w: i32,
    kh: i32,
    kw: i32,
    sh: i32,
    sw: i32,
    ph: i32,
    pw: i32,
    dh: i32,
    dw: i32,
    oh: i32,
    ow: i32,
}

// SAFETY: `Geom` is `repr(C)` plain data of 14 `i32`, laid out exactly as the kernels' struct.
unsafe impl DeviceRepr for Geom {}

impl Geom {
    /// The kernels' 32-bit geometry of `g`; `None` after recording an error on `rt` when a size
    /// does not fit (the launch is then skipped, and [`crate::Cuda::check`] reports it).
    pub(crate) fn new(rt: &Runtime, g: Window2d) -> Option<Geom> {
        let fields = [
            ("batch", g.n),
            ("channels", g.c),
            ("height", g.h),
            ("width", g.w),
            ("kernel height", g.kh),
            ("kernel width", g.kw),
            ("stride", g.sh),
            ("stride", g.sw),
            ("padding", g.ph),
            ("padding", g.pw),
            ("dilation", g.dh),
            ("dilation", g.dw),
            ("output height", g.oh),
            ("output width", g.ow),
        ];
        let mut v = [0i32; 14];
        for (slot, (what, size)) in v.iter_mut().zip(fields) {
            *slot = fits_i32(rt, what, size)?;
        }
        let [n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow] = v;
        Some(Geom { n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow })
    }
}

/// `v` as the `int` a kernel or cuBLAS takes, or an error naming the size.
pub(crate) fn int_size(what: &str, v: usize) -> Result<i32, String> {
    i32::try_from(v).map_err(|_| {
        format!(
            "{what} of {v} exceeds the 32-bit sizes the CUDA kernels and cuBLAS take ({})",
            i32::MAX
        )
    })
}

/// [`int_size`], recording the error on `rt` (the launch is then skipped and
/// [`crate::Cuda::check`] reports it).
pub(crate) fn fits_i32(rt: &Runtime, what: &str, v: usize) -> Option<i32> {
    int_size(what, v).map_err(|e| rt.record(e)).ok()
}

pub(crate) fn act_code(kind: Activation) -> (i32, f32) {
    match kind {
        Activation::Relu => (0, 0.0),
        Activation::LeakyRelu(s) => (1, s as f32),
        Activation::Sigmoid => (2, 0.0),
        Activation::Tanh => (3, 0.0),
        Activation::Gelu => (4, 0.0),
        Activation::GeluTanh => (5, 0.0),
    }
}

pub(crate) fn rows_cfg(rows: usize) -> LaunchConfig {
    crate::shapes::per_row(rows).into()
}

/// One warp per row ([`crate::shapes::warp_rows`]).
pub(crate) fn warp_rows_cfg(rows: usize) -> LaunchConfig {
    crate::shapes::warp_rows(rows).into()
}

/// Copies the first `len` `f64` partial results back, sums them and returns the buffer to the
/// runtime; NaN after any failure.
pub(crate) fn host_sum(
    rt: &Arc<Runtime>,
    partial: cudarc::driver::CudaSlice<f64>,
    len: usize,
) -> f64 {
    let total = if rt.failed() {
        f64::NAN
    } else if rt.capturing() {
        rt.refuse(format!("a sum of {len} partial results read back to the host inside the step"));
        f64::NAN
    } else {
        // A pageable copy is synchronous for the host today; the explicit synchronisation keeps
        // this correct without relying on that.
        let copied = rt.stream.clone_dtoh(&partial.slice(..len.max(1).min(partial.len())));
        match copied.and_then(|v| rt.stream.synchronize().map(|()| v)) {
            Ok(v) => v.iter().take(len).sum(),
            Err(e) => {
                rt.record(format!("reading back a reduction: {e}"));
                f64::NAN
            }
        }
    };
    rt.give_partials(partial);
    total
}

/// cuBLAS (column-major) arguments for the row-major product `C = op(A)·op(B)`: row-major `C` is
/// column-major `Cᵀ = op(B)ᵀ·op(A)ᵀ`, so the operands swap (pass `b` first, then `a`). `Err`
/// when a size exceeds cuBLAS's 32-bit `int`.
pub(crate) fn row_major_gemm(
    (m, k, n): (usize, usize, usize),
    trans_a: bool,
    trans_b: bool,
    beta: f32,
) -> Result<GemmConfig<f32>, String> {
    let op =
        |t: bool| if t { cublasOperation_t::CUBLAS_OP_T } else { cublasOperation_t::CUBLAS_OP_N };
    let (mi, ki, ni) = (int_size("rows", m)?, int_size("inner size", k)?, int_size("columns", n)?);
    Ok(GemmConfig {
        transa: op(trans_b),
        transb: op(trans_a),
        m: ni,
        n: mi,
        k: ki,
        alpha: 1.0f32,
        lda: if trans_b { ki } else { ni },
        ldb: if trans_a { mi } else { ki },
        beta,
        ldc: ni,
    })
}

pub(crate) fn upload_to(rt: &Arc<Runtime>, data: &[f32]) -> CudaBuf {
    let mut b = CudaBuf::scratch(rt, data.len());
    if let Some(d) = b.data.as_mut()
        && !data.is_empty()
        && let Err(e) = rt.upload(data, d)
    {
        rt.record(e);
    }
    b
}

pub(crate) fn reduce(x: &CudaBuf, kernel: &'static str) -> f64 {
    let rt = x.rt.clone();
    let n = x.len;
    let shape = crate::shapes::reduction(n);
    let blocks = shape.blocks as usize;
    let Some(mut partial) = rt.take_partials(blocks) else { return f64::NAN };
    if let Some(xd) = x.data.as_ref() {
        let cfg: LaunchConfig = shape.into();
        launch!(&rt, kernel, cfg, xd, &mut partial, &n);
    }
    host_sum(&rt, partial, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cuBLAS's sgemm semantics, written out: column-major, `C = alpha·op(A)·op(B) + beta·C`.
    fn reference_sgemm(cfg: &GemmConfig<f32>, a: &[f32], b: &[f32], c: &mut [f32]) {
        let t = |o: cublasOperation_t| o == cublasOperation_t::CUBLAS_OP_T;
        let (m, n, k) = (cfg.m as usize, cfg.n as usize, cfg.k as usize);
        let (lda, ldb, ldc) = (cfg.lda as usize, cfg.ldb as usize, cfg.ldc as usize);
        let at = |i: usize, p: usize| if t(cfg.transa) { a[p + i * lda] } else { a[i + p * lda] };
        let bt = |p: usize, j: usize| if t(cfg.transb) { b[j + p * ldb] } else { b[p + j * ldb] };
        for i in 0..m {
            for j in 0..n {
                let s: f32 = (0..k).map(|p| at(i, p) * bt(p, j)).sum();
                c[i + j * ldc] = cfg.alpha * s + cfg.beta * c[i + j * ldc];
            }
        }
    }

    #[test]
    fn the_row_major_mapping_computes_the_row_major_product() {
        let (m, k, n) = (3, 4, 5);
        let a: Vec<f32> = (0..m * k).map(|v| v as f32 * 0.5 - 1.0).collect();
        let b: Vec<f32> = (0..k * n).map(|v| (v as f32 * 0.3).sin()).collect();
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            // Logical A (m×k) and B (k×n), stored transposed where asked.
            let a_st: Vec<f32> =
                if ta { (0..k * m).map(|q| a[(q % m) * k + q / m]).collect() } else { a.clone() };
            let b_st: Vec<f32> =
                if tb { (0..n * k).map(|q| b[(q % k) * n + q / k]).collect() } else { b.clone() };
            let mut c = vec![1.0f32; m * n];
            let cfg = row_major_gemm((m, k, n), ta, tb, 0.5).unwrap();
            // The backend passes b first, then a (see `matmul`).
            reference_sgemm(&cfg, &b_st, &a_st, &mut c);
            for i in 0..m {
                for j in 0..n {
                    let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<f32>() + 0.5;
                    assert!(
                        (c[i * n + j] - want).abs() < 1e-5,
                        "ta={ta} tb={tb} [{i},{j}]: {} vs {want}",
                        c[i * n + j]
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::{int_size, row_major_gemm};

    /// A size beyond cuBLAS's `int` is an error naming it, not a product clamped to 2³¹ − 1.
    #[test]
    fn sizes_beyond_32_bits_are_errors_not_clamps() {
        let big = i32::MAX as usize + 1;
        let err = row_major_gemm((2, big, 3), false, false, 0.0).unwrap_err();
        assert!(err.contains("inner size of 2147483648"), "{err}");
        assert!(row_major_gemm((2, 5, 3), false, true, 0.0).is_ok());
        assert_eq!(int_size("batch", 7), Ok(7));
        assert!(int_size("batch", big).unwrap_err().contains("batch of 2147483648"));
    }
}
