//! `impl Strided for CpuDevice`: the reference strided kernels of
//! `shapeflow_core::backend::strided_host`, run in place on the buffers. On top of them:
//! - the activations (`relu`, `sigmoid`, `tanh`, `gelu`) and their derivatives run the
//!   activation layers' kernels (`activation.rs`: AVX2 in f32), and `exp` in f32 the vectorised
//!   polynomial of `gate_math.rs`;
//! - large tensors are split across the workers: elementwise maps in fixed chunks, broadcast
//!   ops and reductions by whole rows of their outermost axis (each output value is computed by
//!   one worker in the same order as alone, so results do not depend on the split).

use rayon::prelude::*;
use shapeflow_core::backend::{
    Activation, Around, BinaryOp, ReduceOp, Strided, UnaryOp, View, strided_host as host,
};
use shapeflow_core::{Dims, Elem};

#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};
use crate::{CpuBuf, CpuDevice, CpuElem, activation};

/// Tensors at least this large are processed by every worker.
const PARALLEL_MIN: usize = 1 << 15;
const CHUNK: usize = 1 << 13;
/// Rows per partial sum of a reduction along a leading axis.
const ROWS: usize = 64;

thread_local! {
    /// The partial sums of a reduction along a leading axis, kept between calls (a fresh
    /// allocation each time faulted its pages in again).
    static PARTIALS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The activation kernel that computes `op`, where there is one.
fn activation_of(op: UnaryOp) -> Option<Activation> {
    match op {
        UnaryOp::Relu => Some(Activation::Relu),
        UnaryOp::Sigmoid => Some(Activation::Sigmoid),
        UnaryOp::Tanh => Some(Activation::Tanh),
        UnaryOp::Gelu => Some(Activation::Gelu),
        _ => None,
    }
}

/// `y = eˣ` on one chunk: the polynomial exponential in f32 with AVX2, else the library's.
fn exp_chunk<E: CpuElem>(x: &[E], y: &mut [E]) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(xf), Some(yf)) = (as_f32(x), as_f32_mut(y)) {
        if std::arch::is_x86_feature_detected!("avx512f") && crate::f32_view::avx2_fma() {
            // SAFETY: AVX-512F, AVX2 and FMA are available (checked just above).
            unsafe { exp_avx512(xf, yf) };
            return;
        }
        if crate::f32_view::avx2_fma() {
            // SAFETY: AVX2 and FMA are available (checked just above).
            unsafe { exp_avx2(xf, yf) };
            return;
        }
    }
    host::unary(UnaryOp::Exp, x, y);
}

/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn exp_avx512(x: &[f32], y: &mut [f32]) {
    exp_in(x, y);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_avx2(x: &[f32], y: &mut [f32]) {
    exp_in(x, y);
}

/// `y = eˣ` in f32, compiled once per instruction set by the callers above.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn exp_in(x: &[f32], y: &mut [f32]) {
    // the polynomial holds on [-87, 88]; outside it (and for NaN) the library's `exp` gives
    // 0, subnormals and infinity exactly, in a fix-up pass over the chunk (still in cache)
    // run only when the branch-free loop saw such a value
    let mut outside = false;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = crate::gate_math::exp(v);
        outside |= !(-87.0..=88.0).contains(&v);
    }
    if outside {
        for (o, &v) in y.iter_mut().zip(x) {
            if !(-87.0..=88.0).contains(&v) {
                *o = v.exp();
            }
        }
    }
}

/// Splits `dims` by its outermost axis into pieces of about [`CHUNK`] elements: `(rows per
/// piece, elements per row)`, or `None` when the tensor is small or has one row.
fn row_split(dims: &Dims) -> Option<(usize, usize)> {
    let s = dims.as_slice();
    let numel = dims.numel();
    if numel < PARALLEL_MIN || s.len() < 2 || s[0] < 2 {
        return None;
    }
    let row = numel / s[0];
    Some(((CHUNK / row.max(1)).max(1), row))
}

/// `dims` with its outermost axis cut to `rows`, and `v` moved to row `first`.
fn piece(dims: &Dims, v: View, first: usize, rows: usize) -> (Dims, View) {
    let mut s = dims.as_slice().to_vec();
    s[0] = rows;
    let mut v = v;
    v.offset += first * v.strides[0];
    (Dims::new(&s).unwrap_or_default(), v)
}

impl<E: CpuElem> Strided for CpuDevice<E> {
    unsafe fn unary_unchecked(op: UnaryOp, x: &CpuBuf<E>, y: &mut CpuBuf<E>) {
        if let Some(kind) = activation_of(op) {
            return activation::forward(kind, x, y);
        }
        let (x, y): (&[E], &mut [E]) = (x, y);
        let run = |x: &[E], y: &mut [E]| {
            if op == UnaryOp::Exp { exp_chunk(x, y) } else { host::unary(op, x, y) }
        };
        if y.len() >= PARALLEL_MIN {
            y.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(y, x)| run(x, y));
        } else {
            run(x, y);
        }
    }
    unsafe fn unary_grad_unchecked(
        op: UnaryOp,
        x: &CpuBuf<E>,
        y: &CpuBuf<E>,
        dy: &CpuBuf<E>,
        dx: &mut CpuBuf<E>,
    ) {
        if let Some(kind) = activation_of(op) {
            let saved = if kind.backward_uses_output() { y } else { x };
            return activation::backward(kind, saved, dy, dx);
        }
        let dx: &mut [E] = dx;
        if dx.len() >= PARALLEL_MIN {
            dx.par_chunks_mut(CHUNK)
                .zip(x.par_chunks(CHUNK))
                .zip(y.par_chunks(CHUNK))
                .zip(dy.par_chunks(CHUNK))
                .for_each(|(((dx, x), y), dy)| host::unary_grad(op, x, y, dy, dx));
        } else {
            host::unary_grad(op, x, y, dy, dx);
        }
    }
    unsafe fn binary_unchecked(
        op: BinaryOp,
        a: (&CpuBuf<E>, View),
        b: (&CpuBuf<E>, View),
        out: &mut CpuBuf<E>,
        dims: &Dims,
    ) {
        let out: &mut [E] = out;
        let (a0, b0): (&[E], &[E]) = (a.0, b.0);
        if out.len() >= PARALLEL_MIN && a.1.is_contiguous(dims) && b.1.is_contiguous(dims) {
            out.par_chunks_mut(CHUNK).zip(a0.par_chunks(CHUNK)).zip(b0.par_chunks(CHUNK)).for_each(
                |((o, a), b)| {
                    let d = Dims::new(&[o.len()]).unwrap_or_default();
                    let v = View::contiguous(&d);
                    host::binary(op, (a, v), (b, v), o, &d);
                },
            );
        } else if let Some((rows, row)) = row_split(dims) {
            out.par_chunks_mut(rows * row).enumerate().for_each(|(i, o)| {
                let (d, va) = piece(dims, a.1, i * rows, o.len() / row);
                let (_, vb) = piece(dims, b.1, i * rows, o.len() / row);
                host::binary(op, (a0, va), (b0, vb), o, &d);
            });
        } else {
            host::binary(op, (a0, a.1), (b0, b.1), out, dims);
        }
    }
    unsafe fn select_unchecked(
        mask: (&CpuBuf<E>, View),
        a: (&CpuBuf<E>, View),
        b: (&CpuBuf<E>, View),
        out: &mut CpuBuf<E>,
        dims: &Dims,
    ) {
        let out: &mut [E] = out;
        let (m0, a0, b0): (&[E], &[E], &[E]) = (mask.0, a.0, b.0);
        if let Some((rows, row)) = row_split(dims) {
            out.par_chunks_mut(rows * row).enumerate().for_each(|(i, o)| {
                let n = o.len() / row;
                let (d, vm) = piece(dims, mask.1, i * rows, n);
                let (_, va) = piece(dims, a.1, i * rows, n);
                let (_, vb) = piece(dims, b.1, i * rows, n);
                host::select((m0, vm), (a0, va), (b0, vb), o, &d);
            });
        } else {
            host::select((m0, mask.1), (a0, a.1), (b0, b.1), out, dims);
        }
    }
    unsafe fn reduce_unchecked(op: ReduceOp, x: &CpuBuf<E>, around: Around, out: &mut CpuBuf<E>) {
        let (x, out): (&[E], &mut [E]) = (x, out);
        let Around { outer, n, inner } = around;
        if outer * n * inner < PARALLEL_MIN || n == 0 {
            return host::reduce(op, x, around, out);
        }
        if outer >= 8 {
            // whole blocks of the outer axis per worker
            let per = (CHUNK / (n * inner).max(1)).max(1);
            out.par_chunks_mut(per * inner).zip(x.par_chunks(per * n * inner)).for_each(
                |(o, x)| {
                    host::reduce(op, x, Around { outer: o.len() / inner, n, inner }, o);
                },
            );
        } else if op == ReduceOp::Sum {
            // few outer blocks: each block of ROWS rows summed into its own f64 row on a
            // worker, read in memory order, and the block sums added in block order (the same
            // result for any number of workers)
            for (o, x) in out.chunks_mut(inner).zip(x.chunks(n * inner)) {
                PARTIALS.with(|p| {
                    let mut p = p.borrow_mut();
                    p.clear();
                    p.resize(n.div_ceil(ROWS) * inner, 0.0);
                    p.par_chunks_mut(inner).zip(x.par_chunks(ROWS * inner)).for_each(
                        |(acc, block)| {
                            for row in block.chunks_exact(inner) {
                                add_row(acc, row);
                            }
                        },
                    );
                    let (total, rest) = p.split_at_mut(inner);
                    for block in rest.chunks_exact(inner) {
                        for (t, &v) in total.iter_mut().zip(block) {
                            *t += v;
                        }
                    }
                    for (slot, &t) in o.iter_mut().zip(total.iter()) {
                        *slot = E::from_f64(t);
                    }
                });
            }
        } else {
            // few outer blocks of many columns: columns in groups per worker
            for (o, x) in out.chunks_mut(inner).zip(x.chunks(n * inner)) {
                // one long run of columns per worker: each row's slice is read whole
                let cols = inner.div_ceil(rayon::current_num_threads()).max(256);
                o.par_chunks_mut(cols)
                    .enumerate()
                    .for_each(|(c, o)| reduce_columns(op, x, n, inner, c * cols, o));
            }
        }
    }
    unsafe fn copy_strided_unchecked(
        src: &CpuBuf<E>,
        vs: View,
        dst: &mut CpuBuf<E>,
        vd: View,
        dims: &Dims,
    ) {
        host::copy_strided(src, vs, dst, vd, dims);
    }
    unsafe fn gather_unchecked(
        x: &CpuBuf<E>,
        around: Around,
        idx: &[usize],
        k: usize,
        out: &mut CpuBuf<E>,
    ) {
        host::gather(x, around, idx, k, out);
    }
    unsafe fn scatter_add_unchecked(
        src: &CpuBuf<E>,
        around: Around,
        idx: &[usize],
        k: usize,
        dst: &mut CpuBuf<E>,
    ) {
        host::scatter_add(src, around, idx, k, dst);
    }
}

/// `acc += row` in f64: for f32 rows compiled for AVX-512 or AVX2 where the machine has them
/// (the baseline build converts and adds two values per instruction).
fn add_row<E: Elem>(acc: &mut [f64], row: &[E]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(row) = as_f32(row) {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is available (checked just above).
            return unsafe { add_row_avx512(acc, row) };
        }
        if crate::f32_view::avx2_fma() {
            // SAFETY: AVX2 and FMA are available (checked just above).
            return unsafe { add_row_avx2(acc, row) };
        }
    }
    for (a, &v) in acc.iter_mut().zip(row) {
        *a += v.as_f64();
    }
}

/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn add_row_avx512(acc: &mut [f64], row: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(row) {
        *a += v as f64;
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_row_avx2(acc: &mut [f64], row: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(row) {
        *a += v as f64;
    }
}

/// Columns `first..first + out.len()` of an `n × inner` block reduced; sums accumulated in
/// `f64` row by row (the order of the single-worker kernel).
fn reduce_columns<E: Elem>(
    op: ReduceOp,
    x: &[E],
    n: usize,
    inner: usize,
    first: usize,
    out: &mut [E],
) {
    let w = out.len();
    if op == ReduceOp::Sum {
        let mut acc = vec![0f64; w];
        for j in 0..n {
            let row = &x[j * inner + first..j * inner + first + w];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v.as_f64();
            }
        }
        for (o, a) in out.iter_mut().zip(acc) {
            *o = E::from_f64(a);
        }
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            *o = op.reduce_iter((0..n).map(|j| x[j * inner + first + i]));
        }
    }
}

#[cfg(test)]
mod tests {
    //! The parallel paths (tensors past `PARALLEL_MIN`) against the single-worker reference
    //! kernels of `strided_host`.
    use super::*;
    use shapeflow_core::backend::Device;

    use crate::Cpu;

    fn data(n: usize, seed: f32) -> CpuBuf<f32> {
        let v: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37 + seed).sin() * 3.0).collect();
        Cpu::default().upload(&v)
    }

    fn close(what: &str, got: &[f32], want: &[f32]) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let same = (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-5 * (1.0 + w.abs());
            assert!(same, "{what}[{i}]: {g} vs {w}");
        }
    }

    #[test]
    fn large_reductions_match_the_reference() {
        for sizes in [[3usize, 700, 50], [1, 1024, 64], [64, 40, 30], [2, 40_000, 1]] {
            let d = Dims::new(&sizes).unwrap();
            let x = data(d.numel(), 0.1);
            for axis in 0..3 {
                let around = Around::axis(&d, axis);
                for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::ArgMin] {
                    let m = around.outer * around.inner;
                    let mut got = Cpu::default().zeros(m);
                    Cpu::reduce(op, &x, around, &mut got);
                    let mut want = vec![0f32; m];
                    host::reduce(op, &x, around, &mut want);
                    close(&format!("{op:?} of {sizes:?} along {axis}"), &got, &want);
                }
            }
        }
    }

    #[test]
    fn large_broadcasts_and_selects_match_the_reference() {
        let d = Dims::new(&[64, 30, 40]).unwrap();
        let n = d.numel();
        let (a, b, m) = (data(n, 0.2), data(40, 0.9), data(30, 0.5));
        let (bd, md) = (Dims::new(&[40]).unwrap(), Dims::new(&[30, 1]).unwrap());
        let (va, vb, vm) =
            (View::contiguous(&d), View::broadcast(&bd, &d), View::broadcast(&md, &d));
        let mut got = Cpu::default().zeros(n);
        Cpu::binary(BinaryOp::Maximum, (&a, va), (&b, vb), &mut got, &d);
        let mut want = vec![0f32; n];
        host::binary(BinaryOp::Maximum, (&a, va), (&b, vb), &mut want, &d);
        close("maximum", &got, &want);
        Cpu::select((&m, vm), (&a, va), (&b, vb), &mut got, &d);
        host::select((&m, vm), (&a, va), (&b, vb), &mut want, &d);
        close("select", &got, &want);
        let mut y = Cpu::default().zeros(n);
        Cpu::unary(UnaryOp::Exp, &a, &mut y);
        let mut want = vec![0f32; n];
        host::unary(UnaryOp::Exp, &a, &mut want);
        close("exp", &y, &want);
    }
}
