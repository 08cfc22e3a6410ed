//! `impl Linalg for Cuda`, kernels in `kernels/linalg.cu`.

use crate::Cuda;
use crate::launch::*;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;
use cudarc::cublas::Gemm as _;
use shapeflow_core::backend::{Blocks, Channels, Gemm, Joined, Linalg};

impl Linalg for Cuda {
    unsafe fn matmul_unchecked(a: &CudaBuf, b: &CudaBuf, c: &mut CudaBuf, g: Gemm) {
        let Gemm { m, k, n, trans_a, trans_b, .. } = g;
        let beta = g.beta as f32;
        let rt = c.rt.clone();
        if rt.failed() || m == 0 || n == 0 {
            return;
        }
        let (Some(ad), Some(bd), Some(cd)) = (a.data.as_ref(), b.data.as_ref(), c.data.as_mut())
        else {
            return;
        };
        if k == 0 {
            // An empty sum: c = beta·c. With beta = 0, `c` may be unspecified scratch (NaN·0 is
            // NaN), so it is filled with zeros rather than scaled, as the CPU backend does.
            let len = m * n;
            if beta == 0.0 {
                launch!(&rt, "fill", Runtime::grid(len), cd, &0.0f32, &len);
            } else {
                launch!(&rt, "scale", Runtime::grid(len), cd, &beta, &len);
            }
            return;
        }
        let Some(cfg) =
            row_major_gemm((m, k, n), trans_a, trans_b, beta).map_err(|e| rt.record(e)).ok()
        else {
            return;
        };
        if !rt.bind() {
            return;
        }
        // SAFETY: a holds m·k, b k·n and c m·n floats (checked by the layers), and the leading
        // dimensions above describe exactly those row-major (or transposed) layouts.
        if let Err(e) = unsafe { rt.blas.gemm(cfg, bd, ad, cd) } {
            rt.record(format!("cuBLAS sgemm {m}×{k}·{k}×{n}: {e}"));
        }
    }
    unsafe fn matmul_batched_unchecked(
        a: &CudaBuf,
        b: &CudaBuf,
        c: &mut CudaBuf,
        g: Gemm,
        count: usize,
    ) {
        let Gemm { m, k, n, trans_a, trans_b, .. } = g;
        let rt = c.rt.clone();
        if rt.failed() || m == 0 || n == 0 || count == 0 {
            return;
        }
        if k == 0 {
            // Empty sums, as `matmul` handles them, over every block at once.
            let mut all = CudaBuf { data: c.data.take(), len: c.len, rt: rt.clone() };
            Self::matmul(a, b, &mut all, Gemm { m: m * count, ..g });
            c.data = all.data.take();
            return;
        }
        let (Some(ad), Some(bd), Some(cd)) = (a.data.as_ref(), b.data.as_ref(), c.data.as_mut())
        else {
            return;
        };
        let gemm = row_major_gemm((m, k, n), trans_a, trans_b, g.beta as f32);
        let Some(gemm) = gemm.map_err(|e| rt.record(e)).ok() else { return };
        let Some(batch_size) = fits_i32(&rt, "batch count", count) else { return };
        // Strides are 64-bit in cuBLAS; usize → i64 holds any size a buffer can have.
        let stride = |v: usize| v as i64;
        let cfg = cudarc::cublas::StridedBatchedConfig {
            gemm,
            batch_size,
            // The operands swap in the row-major mapping: cuBLAS's A is our b.
            stride_a: stride(k * n),
            stride_b: stride(m * k),
            stride_c: stride(m * n),
        };
        if !rt.bind() {
            return;
        }
        // SAFETY: a holds count·m·k, b count·k·n and c count·m·n floats (checked by the
        // layers); each block is the row-major layout `row_major_gemm` describes.
        if let Err(e) = unsafe { rt.blas.gemm_strided_batched(cfg, bd, ad, cd) } {
            rt.record(format!("cuBLAS batched sgemm {count}× {m}×{k}·{k}×{n}: {e}"));
        }
    }
    unsafe fn transpose_blocks_unchecked(x: &CudaBuf, y: &mut CudaBuf, g: Blocks) {
        let Blocks { batch, rows, cols, inner } = g;
        let rt = y.rt.clone();
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(
                &rt,
                "transpose_blocks",
                Runtime::grid(batch * rows * cols * inner),
                xd,
                yd,
                &batch,
                &rows,
                &cols,
                &inner
            );
        }
    }
    unsafe fn add_bias_unchecked(y: &mut CudaBuf, bias: &CudaBuf, rows: usize, cols: usize) {
        let rt = y.rt.clone();
        if let (Some(yd), Some(bd)) = (y.data.as_mut(), bias.data.as_ref()) {
            launch!(&rt, "add_bias", Runtime::grid(rows * cols), yd, bd, &rows, &cols);
        }
    }
    unsafe fn sum_rows_unchecked(x: &CudaBuf, out: &mut CudaBuf, rows: usize, cols: usize) {
        let rt = out.rt.clone();
        if let (Some(xd), Some(od)) = (x.data.as_ref(), out.data.as_mut()) {
            launch!(&rt, "sum_rows", Runtime::grid(cols), xd, od, &rows, &cols);
        }
    }
    unsafe fn add_channel_bias_unchecked(y: &mut CudaBuf, bias: &CudaBuf, g: Channels) {
        let Channels { outer, channels, inner } = g;
        let rt = y.rt.clone();
        if let (Some(yd), Some(bd)) = (y.data.as_mut(), bias.data.as_ref()) {
            launch!(
                &rt,
                "add_channel_bias",
                Runtime::grid(outer * channels * inner),
                yd,
                bd,
                &outer,
                &channels,
                &inner
            );
        }
    }
    /// Through the norm family's per-channel reduction kernels (`channel_sums_partial` and
    /// `channel_sums_finish` in `kernels/norm.cu`), which spread each channel over blocks.
    unsafe fn sum_channels_unchecked(x: &CudaBuf, out: &mut CudaBuf, g: Channels) {
        let Channels { outer, channels, inner } = g;
        let rt = out.rt.clone();
        let splits = crate::shapes::channel_splits(channels, outer * inner);
        let Some(mut part) = rt.take_partials(2 * channels * splits + 2 * channels) else {
            return;
        };
        if let (Some(xd), Some(od)) = (x.data.as_ref(), out.data.as_mut()) {
            let cfg = crate::shapes::channel_chunks(channels, splits).into();
            let (eps, x_only) = (0.0f64, 1i32);
            // With `x_only` the kernel reads only `x`; it stands in for dy, mean and var.
            launch!(
                &rt,
                "channel_sums_partial",
                cfg,
                xd,
                xd,
                xd,
                xd,
                &mut part,
                &eps,
                &outer,
                &channels,
                &inner,
                &splits,
                &x_only
            );
            // No second sum: `second` is a null pointer (8 bytes, as the kernel's `float*`) that
            // `has_second = 0` keeps it from writing.
            let (null, has_second) = (0u64, 0i32);
            let cfg = Runtime::grid(channels);
            launch!(
                &rt,
                "channel_sums_finish",
                cfg,
                &mut part,
                od,
                &null,
                &channels,
                &splits,
                &has_second
            );
        }
        rt.give_partials(part);
    }
    unsafe fn concat_rows_unchecked(a: &CudaBuf, b: &CudaBuf, y: &mut CudaBuf, g: Joined) {
        let rt = y.rt.clone();
        let Joined { rows, left, right } = g;
        if let (Some(ad), Some(bd), Some(yd)) = (a.data.as_ref(), b.data.as_ref(), y.data.as_mut())
        {
            let cfg = Runtime::grid(rows * g.width());
            launch!(&rt, "concat_rows", cfg, ad, bd, yd, &rows, &left, &right);
        }
    }
    unsafe fn split_rows_unchecked(y: &CudaBuf, a: &mut CudaBuf, b: &mut CudaBuf, g: Joined) {
        let rt = a.rt.clone();
        let Joined { rows, left, right } = g;
        if let (Some(yd), Some(ad), Some(bd)) = (y.data.as_ref(), a.data.as_mut(), b.data.as_mut())
        {
            let cfg = Runtime::grid(rows * g.width());
            launch!(&rt, "split_rows", cfg, yd, ad, bd, &rows, &left, &right);
        }
    }
}
