//! `impl Backend for Cuda`: every primitive as a CUDA kernel (kernels/*.cu) or a cuBLAS call.
//!
//! Kernel launches are asynchronous; the backend's signatures return no `Result`, so the first
//! failure is recorded on the device (see [`crate::Cuda::check`]), later operations are skipped,
//! and values read back to the host (losses, sums) become NaN, which the losses report as errors.

use std::sync::Arc;

use cudarc::cublas::{Gemm, GemmConfig, sys::cublasOperation_t};
use cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};
use shapeflow_core::backend::{AdamStep, SgdStep, Window2d};
use shapeflow_core::{Activation, Backend};

use crate::Cuda;
use crate::runtime::Runtime;
use crate::storage::CudaBuf;

/// Window geometry as the kernels take it (`struct Geom` in conv.cu and pool.cu).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Geom {
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

impl From<Window2d> for Geom {
    fn from(g: Window2d) -> Geom {
        let i = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        Geom {
            n: i(g.n),
            c: i(g.c),
            h: i(g.h),
            w: i(g.w),
            kh: i(g.kh),
            kw: i(g.kw),
            sh: i(g.sh),
            sw: i(g.sw),
            ph: i(g.ph),
            pw: i(g.pw),
            dh: i(g.dh),
            dw: i(g.dw),
            oh: i(g.oh),
            ow: i(g.ow),
        }
    }
}

/// Launches kernel `$name` with `$cfg` and the given arguments, recording any failure.
macro_rules! launch {
    ($rt:expr, $name:literal, $cfg:expr, $($arg:expr),* $(,)?) => {{
        let rt: &Runtime = $rt;
        if !rt.failed() {
            match rt.function($name) {
                Some(f) => {
                    let mut b = rt.stream.launch_builder(f);
                    $( b.arg($arg); )*
                    // SAFETY: the arguments match the kernel's parameter list in kernels/*.cu
                    // (device buffers, then sizes as size_t = usize), and every buffer holds at
                    // least the elements the sizes describe: layers check sizes before calling
                    // the backend, and buffers that failed to allocate skip the launch above.
                    if let Err(e) = unsafe { b.launch($cfg) } {
                        rt.record(format!("kernel `{}`: {e}", $name));
                    }
                }
                None => rt.record(format!("kernel `{}` is not loaded", $name)),
            }
        }
    }};
}

fn act_code(kind: Activation) -> (i32, f32) {
    match kind {
        Activation::Relu => (0, 0.0),
        Activation::LeakyRelu(s) => (1, s as f32),
        Activation::Sigmoid => (2, 0.0),
        Activation::Tanh => (3, 0.0),
        Activation::Gelu => (4, 0.0),
    }
}

fn rows_cfg(rows: usize) -> LaunchConfig {
    let blocks = rows.div_ceil(crate::runtime::BLOCK as usize).max(1) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (crate::runtime::BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// Copies the first `len` `f64` partial results back, sums them and returns the buffer to the
/// runtime; NaN after any failure.
fn host_sum(rt: &Arc<Runtime>, partial: cudarc::driver::CudaSlice<f64>, len: usize) -> f64 {
    let total = if rt.failed() {
        f64::NAN
    } else {
        match rt.stream.clone_dtoh(&partial.slice(..len.max(1).min(partial.len()))) {
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
/// column-major `Cᵀ = op(B)ᵀ·op(A)ᵀ`, so the operands swap (pass `b` first, then `a`).
pub(crate) fn row_major_gemm(
    m: usize,
    k: usize,
    n: usize,
    trans_a: bool,
    trans_b: bool,
    beta: f32,
) -> GemmConfig<f32> {
    let op =
        |t: bool| if t { cublasOperation_t::CUBLAS_OP_T } else { cublasOperation_t::CUBLAS_OP_N };
    let i = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    GemmConfig {
        transa: op(trans_b),
        transb: op(trans_a),
        m: i(n),
        n: i(m),
        k: i(k),
        alpha: 1.0f32,
        lda: i(if trans_b { k } else { n }),
        ldb: i(if trans_a { m } else { k }),
        beta,
        ldc: i(n),
    }
}

impl Backend for Cuda {
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
        match s.rt.stream.clone_dtoh(d) {
            Ok(mut v) => {
                v.truncate(s.len);
                v
            }
            Err(e) => {
                s.rt.record(format!("device-to-host copy: {e}"));
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

    fn matmul(
        a: &CudaBuf,
        b: &CudaBuf,
        c: &mut CudaBuf,
        m: usize,
        k: usize,
        n: usize,
        trans_a: bool,
        trans_b: bool,
        beta: f32,
    ) {
        let rt = c.rt.clone();
        if rt.failed() || m == 0 || n == 0 {
            return;
        }
        let (Some(ad), Some(bd), Some(cd)) = (a.data.as_ref(), b.data.as_ref(), c.data.as_mut())
        else {
            return;
        };
        if k == 0 {
            let scale_by = if beta == 0.0 { 0.0f32 } else { beta };
            let len = m * n;
            launch!(&rt, "scale", Runtime::grid(len), cd, &scale_by, &len);
            return;
        }
        let cfg = row_major_gemm(m, k, n, trans_a, trans_b, beta);
        // SAFETY: a holds m·k, b k·n and c m·n floats (checked by the layers), and the leading
        // dimensions above describe exactly those row-major (or transposed) layouts.
        if let Err(e) = unsafe { rt.blas.gemm(cfg, bd, ad, cd) } {
            rt.record(format!("cuBLAS sgemm {m}×{k}·{k}×{n}: {e}"));
        }
    }
    fn add_bias(y: &mut CudaBuf, bias: &CudaBuf, rows: usize, cols: usize) {
        let rt = y.rt.clone();
        if let (Some(yd), Some(bd)) = (y.data.as_mut(), bias.data.as_ref()) {
            launch!(&rt, "add_bias", Runtime::grid(rows * cols), yd, bd, &rows, &cols);
        }
    }
    fn sum_rows(x: &CudaBuf, out: &mut CudaBuf, rows: usize, cols: usize) {
        let rt = out.rt.clone();
        if let (Some(xd), Some(od)) = (x.data.as_ref(), out.data.as_mut()) {
            launch!(&rt, "sum_rows", Runtime::grid(cols), xd, od, &rows, &cols);
        }
    }
    fn add_channel_bias(
        y: &mut CudaBuf,
        bias: &CudaBuf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
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
    fn sum_channels(x: &CudaBuf, out: &mut CudaBuf, outer: usize, channels: usize, inner: usize) {
        let rt = out.rt.clone();
        if let (Some(xd), Some(od)) = (x.data.as_ref(), out.data.as_mut()) {
            launch!(
                &rt,
                "sum_channels",
                Runtime::per_item(channels),
                xd,
                od,
                &outer,
                &channels,
                &inner
            );
        }
    }
    fn mul_rows_broadcast(x: &CudaBuf, m: &CudaBuf, y: &mut CudaBuf, rows: usize, inner: usize) {
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
    fn transpose_blocks(
        x: &CudaBuf,
        y: &mut CudaBuf,
        batch: usize,
        rows: usize,
        cols: usize,
        inner: usize,
    ) {
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

    fn activation(kind: Activation, x: &CudaBuf, y: &mut CudaBuf) {
        let (code, slope) = act_code(kind);
        let (rt, n) = (y.rt.clone(), y.len);
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "activation_fwd", Runtime::grid(n), xd, yd, &code, &slope, &n);
        }
    }
    fn activation_backward(kind: Activation, saved: &CudaBuf, dy: &CudaBuf, dx: &mut CudaBuf) {
        let (code, slope) = act_code(kind);
        let (rt, n) = (dx.rt.clone(), dx.len);
        if let (Some(sd), Some(gd), Some(dd)) =
            (saved.data.as_ref(), dy.data.as_ref(), dx.data.as_mut())
        {
            launch!(&rt, "activation_bwd", Runtime::grid(n), sd, gd, dd, &code, &slope, &n);
        }
    }
    fn mul(a: &CudaBuf, b: &CudaBuf, out: &mut CudaBuf) {
        let (rt, n) = (out.rt.clone(), out.len);
        if let (Some(ad), Some(bd), Some(od)) =
            (a.data.as_ref(), b.data.as_ref(), out.data.as_mut())
        {
            launch!(&rt, "mul", Runtime::grid(n), ad, bd, od, &n);
        }
    }
    fn sub(a: &CudaBuf, b: &CudaBuf, out: &mut CudaBuf) {
        let (rt, n) = (out.rt.clone(), out.len);
        if let (Some(ad), Some(bd), Some(od)) =
            (a.data.as_ref(), b.data.as_ref(), out.data.as_mut())
        {
            launch!(&rt, "sub", Runtime::grid(n), ad, bd, od, &n);
        }
    }
    fn axpy(alpha: f32, x: &CudaBuf, y: &mut CudaBuf) {
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
        reduce(x, 0)
    }
    fn sum_squares(x: &CudaBuf) -> f64 {
        reduce(x, 1)
    }
    fn dropout_mask(mask: &mut CudaBuf, p: f64, seed: u64) {
        let (rt, n) = (mask.rt.clone(), mask.len);
        if let Some(md) = mask.data.as_mut() {
            launch!(&rt, "dropout_mask", Runtime::grid(n), md, &p, &seed, &n);
        }
    }

    fn softmax_rows(x: &CudaBuf, y: &mut CudaBuf, rows: usize, cols: usize) {
        let rt = y.rt.clone();
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "softmax_rows", rows_cfg(rows), xd, yd, &rows, &cols);
        }
    }
    fn log_softmax_rows(x: &CudaBuf, y: &mut CudaBuf, rows: usize, cols: usize) {
        let rt = y.rt.clone();
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "log_softmax_rows", rows_cfg(rows), xd, yd, &rows, &cols);
        }
    }
    fn softmax_backward_rows(
        y: &CudaBuf,
        dy: &CudaBuf,
        dx: &mut CudaBuf,
        rows: usize,
        cols: usize,
    ) {
        let rt = dx.rt.clone();
        if let (Some(yd), Some(gd), Some(dd)) =
            (y.data.as_ref(), dy.data.as_ref(), dx.data.as_mut())
        {
            launch!(&rt, "softmax_backward_rows", rows_cfg(rows), yd, gd, dd, &rows, &cols);
        }
    }
    fn log_softmax_backward_rows(
        y: &CudaBuf,
        dy: &CudaBuf,
        dx: &mut CudaBuf,
        rows: usize,
        cols: usize,
    ) {
        let rt = dx.rt.clone();
        if let (Some(yd), Some(gd), Some(dd)) =
            (y.data.as_ref(), dy.data.as_ref(), dx.data.as_mut())
        {
            launch!(&rt, "log_softmax_backward_rows", rows_cfg(rows), yd, gd, dd, &rows, &cols);
        }
    }
    fn nll_sum(logp: &CudaBuf, labels: &[usize], rows: usize, cols: usize) -> f64 {
        let rt = logp.rt.clone();
        let (Some(ld), Some(lab), Some(mut per_row)) =
            (logp.data.as_ref(), rt.take_labels(labels), rt.take_partials(rows))
        else {
            return f64::NAN;
        };
        launch!(&rt, "nll_rows", rows_cfg(rows), ld, &lab, &mut per_row, &rows, &cols);
        rt.give_labels(lab);
        host_sum(&rt, per_row, rows)
    }
    fn softmax_minus_onehot(
        logp: &CudaBuf,
        labels: &[usize],
        dx: &mut CudaBuf,
        rows: usize,
        cols: usize,
        scale: f32,
    ) {
        let rt = dx.rt.clone();
        let Some(lab) = rt.take_labels(labels) else { return };
        if let (Some(ld), Some(dd)) = (logp.data.as_ref(), dx.data.as_mut()) {
            launch!(
                &rt,
                "softmax_minus_onehot",
                rows_cfg(rows * cols),
                ld,
                &lab,
                dd,
                &rows,
                &cols,
                &scale
            );
        }
        rt.give_labels(lab);
    }
    fn neg_onehot(labels: &[usize], dx: &mut CudaBuf, rows: usize, cols: usize, scale: f32) {
        let rt = dx.rt.clone();
        let Some(lab) = rt.take_labels(labels) else { return };
        if let Some(dd) = dx.data.as_mut() {
            launch!(&rt, "neg_onehot", rows_cfg(rows * cols), &lab, dd, &rows, &cols, &scale);
        }
        rt.give_labels(lab);
    }
    fn bce_with_logits(x: &CudaBuf, t: &CudaBuf, grad: &mut CudaBuf, scale: f32) -> f64 {
        let (rt, n) = (grad.rt.clone(), grad.len);
        let Some(mut loss) = rt.take_partials(n) else { return f64::NAN };
        if let (Some(xd), Some(td), Some(gd)) =
            (x.data.as_ref(), t.data.as_ref(), grad.data.as_mut())
        {
            launch!(&rt, "bce_with_logits", rows_cfg(n), xd, td, gd, &mut loss, &scale, &n);
        }
        host_sum(&rt, loss, n)
    }

    fn im2col(x: &CudaBuf, cols: &mut CudaBuf, g: Window2d) {
        let rt = cols.rt.clone();
        let geom = Geom::from(g);
        let n = g.col_rows() * g.n * g.col_cols();
        if let (Some(xd), Some(cd)) = (x.data.as_ref(), cols.data.as_mut()) {
            launch!(&rt, "im2col", Runtime::grid(n), xd, cd, &geom);
        }
    }
    fn col2im(cols: &CudaBuf, dx: &mut CudaBuf, g: Window2d) {
        let rt = dx.rt.clone();
        let geom = Geom::from(g);
        let n = g.n * g.c * g.h * g.w;
        if let (Some(cd), Some(dd)) = (cols.data.as_ref(), dx.data.as_mut()) {
            launch!(&rt, "col2im", Runtime::grid(n), cd, dd, &geom);
        }
    }
    fn max_pool2d(x: &CudaBuf, y: &mut CudaBuf, argmax: &mut CudaBuf, g: Window2d) {
        let rt = y.rt.clone();
        let geom = Geom::from(g);
        let n = g.n * g.c * g.oh * g.ow;
        if let (Some(xd), Some(yd), Some(ad)) =
            (x.data.as_ref(), y.data.as_mut(), argmax.data.as_mut())
        {
            launch!(&rt, "max_pool2d", Runtime::grid(n), xd, yd, ad, &geom);
        }
    }
    fn max_pool2d_backward(dy: &CudaBuf, argmax: &CudaBuf, dx: &mut CudaBuf, g: Window2d) {
        let rt = dx.rt.clone();
        let geom = Geom::from(g);
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
    fn avg_pool2d(x: &CudaBuf, y: &mut CudaBuf, g: Window2d) {
        let rt = y.rt.clone();
        let geom = Geom::from(g);
        let n = g.n * g.c * g.oh * g.ow;
        if let (Some(xd), Some(yd)) = (x.data.as_ref(), y.data.as_mut()) {
            launch!(&rt, "avg_pool2d", Runtime::grid(n), xd, yd, &geom);
        }
    }
    fn avg_pool2d_backward(dy: &CudaBuf, dx: &mut CudaBuf, g: Window2d) {
        let rt = dx.rt.clone();
        let geom = Geom::from(g);
        let n = g.n * g.c * g.h * g.w;
        if let (Some(gd), Some(dd)) = (dy.data.as_ref(), dx.data.as_mut()) {
            launch!(&rt, "avg_pool2d_backward", Runtime::grid(n), gd, dd, &geom);
        }
    }

    fn channel_moments(
        x: &CudaBuf,
        mean: &mut CudaBuf,
        var: &mut CudaBuf,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        let rt = mean.rt.clone();
        if let (Some(xd), Some(md), Some(vd)) =
            (x.data.as_ref(), mean.data.as_mut(), var.data.as_mut())
        {
            launch!(
                &rt,
                "channel_moments",
                Runtime::per_item(channels),
                xd,
                md,
                vd,
                &outer,
                &channels,
                &inner
            );
        }
    }
    fn batch_norm_apply(
        x: &CudaBuf,
        mean: &CudaBuf,
        var: &CudaBuf,
        gamma: &CudaBuf,
        beta: &CudaBuf,
        y: &mut CudaBuf,
        eps: f64,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        let rt = y.rt.clone();
        let n = outer * channels * inner;
        if let (Some(xd), Some(md), Some(vd), Some(gd), Some(bd), Some(yd)) = (
            x.data.as_ref(),
            mean.data.as_ref(),
            var.data.as_ref(),
            gamma.data.as_ref(),
            beta.data.as_ref(),
            y.data.as_mut(),
        ) {
            launch!(
                &rt,
                "batch_norm_apply",
                Runtime::grid(n),
                xd,
                md,
                vd,
                gd,
                bd,
                yd,
                &eps,
                &outer,
                &channels,
                &inner
            );
        }
    }
    fn batch_norm_backward(
        x: &CudaBuf,
        dy: &CudaBuf,
        mean: &CudaBuf,
        var: &CudaBuf,
        gamma: &CudaBuf,
        dx: &mut CudaBuf,
        dgamma: &mut CudaBuf,
        dbeta: &mut CudaBuf,
        eps: f64,
        outer: usize,
        channels: usize,
        inner: usize,
    ) {
        let rt = dx.rt.clone();
        if let (Some(xd), Some(gd), Some(md), Some(vd), Some(ga), Some(dd), Some(dg), Some(db)) = (
            x.data.as_ref(),
            dy.data.as_ref(),
            mean.data.as_ref(),
            var.data.as_ref(),
            gamma.data.as_ref(),
            dx.data.as_mut(),
            dgamma.data.as_mut(),
            dbeta.data.as_mut(),
        ) {
            launch!(
                &rt,
                "batch_norm_backward",
                Runtime::per_item(channels),
                xd,
                gd,
                md,
                vd,
                ga,
                dd,
                dg,
                db,
                &eps,
                &outer,
                &channels,
                &inner
            );
        }
    }

    fn adam_step(p: &mut CudaBuf, g: &CudaBuf, m: &mut CudaBuf, v: &mut CudaBuf, hp: AdamStep) {
        let (rt, n) = (p.rt.clone(), p.len);
        let t = hp.step as i32;
        let step_size = (hp.lr / (1.0 - hp.beta1.powi(t))) as f32;
        let bc2_sqrt = (1.0 - hp.beta2.powi(t)).sqrt() as f32;
        let (b1, b2, eps, wd) =
            (hp.beta1 as f32, hp.beta2 as f32, hp.eps as f32, hp.weight_decay as f32);
        let decay = (1.0 - hp.lr * hp.weight_decay) as f32;
        let l2 = i32::from(hp.weight_decay != 0.0 && !hp.decoupled);
        let decoupled = i32::from(hp.weight_decay != 0.0 && hp.decoupled);
        if let (Some(pd), Some(gd), Some(md), Some(vd)) =
            (p.data.as_mut(), g.data.as_ref(), m.data.as_mut(), v.data.as_mut())
        {
            launch!(
                &rt,
                "adam_step",
                Runtime::grid(n),
                pd,
                gd,
                md,
                vd,
                &step_size,
                &bc2_sqrt,
                &b1,
                &b2,
                &eps,
                &wd,
                &decay,
                &l2,
                &decoupled,
                &n
            );
        }
    }
    fn sgd_step(p: &mut CudaBuf, g: &CudaBuf, buf: Option<&mut CudaBuf>, hp: SgdStep) {
        let (rt, n) = (p.rt.clone(), p.len);
        let (lr, mom, damp, wd) =
            (hp.lr as f32, hp.momentum as f32, (1.0 - hp.dampening) as f32, hp.weight_decay as f32);
        let (first, nesterov) = (i32::from(hp.first), i32::from(hp.nesterov));
        let (Some(pd), Some(gd)) = (p.data.as_mut(), g.data.as_ref()) else { return };
        match buf.and_then(|b| b.data.as_mut()) {
            Some(bd) => {
                let has = 1i32;
                launch!(
                    &rt,
                    "sgd_step",
                    Runtime::grid(n),
                    pd,
                    gd,
                    bd,
                    &lr,
                    &mom,
                    &damp,
                    &wd,
                    &has,
                    &first,
                    &nesterov,
                    &n
                );
            }
            None => {
                // The kernel never reads the buffer without momentum; pass the gradient's.
                let has = 0i32;
                launch!(
                    &rt,
                    "sgd_step",
                    Runtime::grid(n),
                    pd,
                    gd,
                    gd,
                    &lr,
                    &mom,
                    &damp,
                    &wd,
                    &has,
                    &first,
                    &nesterov,
                    &n
                );
            }
        }
    }
}

fn upload_to(rt: &Arc<Runtime>, data: &[f32]) -> CudaBuf {
    let mut b = CudaBuf::scratch(rt, data.len());
    if let Some(d) = b.data.as_mut()
        && !data.is_empty()
        && let Err(e) = rt.stream.memcpy_htod(data, d)
    {
        rt.record(format!("host-to-device copy: {e}"));
    }
    b
}

fn reduce(x: &CudaBuf, squares: i32) -> f64 {
    let rt = x.rt.clone();
    let n = x.len;
    let blocks = n.div_ceil(crate::runtime::BLOCK as usize).clamp(1, 1024);
    let Some(mut partial) = rt.take_partials(blocks) else { return f64::NAN };
    if let Some(xd) = x.data.as_ref() {
        let cfg = LaunchConfig {
            grid_dim: (blocks as u32, 1, 1),
            block_dim: (crate::runtime::BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        launch!(&rt, "sum_partial", cfg, xd, &mut partial, &n, &squares);
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
            let cfg = row_major_gemm(m, k, n, ta, tb, 0.5);
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
