//! `impl Attention for CpuDevice`: each (sample, head) pair is one task on a worker, its
//! products run by gemm on strided views of the packed buffers (no head-major copies), its
//! scores scaled, masked and normalised in place while they are in cache.

use gemm::Parallelism;
use rayon::prelude::*;
use shapeflow_core::Elem;
use shapeflow_core::backend::{Attention, AttentionGeom};

use crate::matmul::threads;
use crate::{CpuBuf, CpuDevice, CpuElem};

impl<E: CpuElem> Attention for CpuDevice<E> {
    unsafe fn attention_forward_unchecked(
        qkv: &CpuBuf<E>,
        lengths: &[usize],
        attn: &mut CpuBuf<E>,
        ctx: &mut CpuBuf<E>,
        g: AttentionGeom,
    ) {
        forward(qkv, lengths, attn, ctx, g);
    }

    unsafe fn attention_backward_unchecked(
        qkv: &CpuBuf<E>,
        attn: &CpuBuf<E>,
        dctx: &CpuBuf<E>,
        dqkv: &mut CpuBuf<E>,
        g: AttentionGeom,
    ) {
        backward(qkv, attn, dctx, dqkv, g);
    }
}

/// A matrix inside a buffer: element `(i, j)` at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy)]
struct View<E> {
    ptr: *const E,
    rs: isize,
    cs: isize,
}

/// A raw pointer the tasks share; each task writes only its own (sample, head) blocks.
#[derive(Clone, Copy)]
struct Shared<E>(*mut E);
// SAFETY: the pointer is only dereferenced inside `task` calls, which write disjoint blocks of
// the buffer it points into (one sample's rows, one head's columns) while the buffer outlives
// the parallel loop that runs them.
unsafe impl<E: Send> Send for Shared<E> {}
// SAFETY: as above.
unsafe impl<E: Sync> Sync for Shared<E> {}

/// `c (m × n, row stride ldc) = a · b`, or `+=` with `acc`, on one thread.
///
/// # Safety
/// `a` and `b` must address `m × k` and `k × n` readable elements, `c` `m × n` writable ones not
/// overlapping them, and nothing else may access `c`'s elements during the call.
#[allow(clippy::too_many_arguments)]
unsafe fn product<E: Elem>(
    (m, k, n): (usize, usize, usize),
    c: *mut E,
    ldc: usize,
    a: View<E>,
    b: View<E>,
    acc: bool,
) {
    // SAFETY: the caller guarantees the views and `c` are in bounds and `c` is exclusive;
    // gemm computes dst = alpha·dst + beta·lhs·rhs (alpha read only when `acc`).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            ldc as isize,
            acc,
            a.ptr,
            a.cs,
            a.rs,
            b.ptr,
            b.cs,
            b.rs,
            E::one(),
            E::one(),
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// Sample `b`, head `h`: the offset of its queries in the packed `qkv` rows (`3E` wide; its keys
/// at `+E`, its values at `+2E`) and of its outputs in the `E`-wide rows of `ctx`.
fn offsets(g: AttentionGeom, b: usize, h: usize) -> (usize, usize) {
    let (rows, col) = (b * g.steps, h * g.head);
    (rows * 3 * g.width() + col, rows * g.width() + col)
}

/// The `t × d` block at `at` of `buf`, whose rows are `width` apart.
fn rows<E>(buf: &[E], at: usize, width: usize) -> View<E> {
    View { ptr: buf.as_ptr().wrapping_add(at), rs: width as isize, cs: 1 }
}

/// Its transpose (`d × t`).
fn cols<E>(buf: &[E], at: usize, width: usize) -> View<E> {
    View { ptr: buf.as_ptr().wrapping_add(at), rs: 1, cs: width as isize }
}

/// A `t × t` block and its transpose.
fn square<E>(block: &[E], t: usize) -> (View<E>, View<E>) {
    (rows(block, 0, t), cols(block, 0, t))
}

/// Runs `task(i, block_i)` for every (sample, head) pair `i = b·heads + h` with its own `t·t`
/// block of `weights`, over the workers when there are several.
fn each_pair<E: Send>(weights: &mut [E], t: usize, task: impl Fn(usize, &mut [E]) + Sync + Send) {
    let blocks = weights.chunks_exact_mut(t * t);
    if threads() > 1 && blocks.len() > 1 {
        weights.par_chunks_exact_mut(t * t).enumerate().for_each(|(i, w)| task(i, w));
    } else {
        blocks.enumerate().for_each(|(i, w)| task(i, w));
    }
}

fn sizes_ok<E>(bufs: &[(&[E], usize)]) -> bool {
    bufs.iter().all(|(b, n)| b.len() >= *n)
}

fn forward<E: CpuElem>(
    qkv: &[E],
    lengths: &[usize],
    attn: &mut [E],
    ctx: &mut [E],
    g: AttentionGeom,
) {
    let (e, t, d) = (g.width(), g.steps, g.head);
    let rows_n = g.batch * t;
    if t == 0 || !sizes_ok(&[(qkv, rows_n * 3 * e), (attn, g.weights()), (ctx, rows_n * e)]) {
        debug_assert!(t == 0, "attention_forward: buffers smaller than {g:?}");
        return;
    }
    let scale = E::from_f64(g.scale());
    let ctx_out = Shared(ctx.as_mut_ptr());
    each_pair(&mut attn[..g.weights()], t, move |i, scores| {
        let ctx_out = ctx_out;
        let (b, h) = (i / g.heads, i % g.heads);
        let (at, ctx_at) = offsets(g, b, h);
        // SAFETY: `qkv` holds `rows·3E` values (checked), so the `t × d` query and key blocks of
        // sample `b`, head `h` are in bounds; `scores` is this task's own `t·t` block.
        unsafe {
            let (q, k) = (rows(qkv, at, 3 * e), cols(qkv, at + e, 3 * e));
            product((t, d, t), scores.as_mut_ptr(), t, q, k, false);
        }
        let len = lengths.get(b).copied().unwrap_or(t).min(t);
        for (q, row) in scores.chunks_exact_mut(t).enumerate() {
            let end = if g.causal { len.min(q + 1) } else { len };
            softmax_visible(row, end, scale);
        }
        // SAFETY: `ctx` holds `rows·E` values; sample `b`'s rows at head `h`'s columns are this
        // task's alone; the values block of `qkv` is in bounds as the queries'.
        unsafe {
            let (w, v) = (square(scores, t).0, rows(qkv, at + 2 * e, 3 * e));
            product((t, t, d), ctx_out.0.wrapping_add(ctx_at), e, w, v, false);
        }
    });
}

/// `row[..end] = softmax(row[..end]·scale)`, `row[end..] = 0` (all zero when `end = 0`).
fn softmax_visible<E: CpuElem>(row: &mut [E], end: usize, scale: E) {
    let (seen, hidden) = row.split_at_mut(end.min(row.len()));
    hidden.fill(E::zero());
    if seen.is_empty() {
        return;
    }
    seen.iter_mut().for_each(|v| *v = *v * scale);
    let m = lanes(seen, E::neg_infinity(), |a, b| if b > a { b } else { a });
    seen.iter_mut().for_each(|v| *v = (*v - m).gate_exp());
    let inv = E::one() / lanes(seen, E::zero(), |a, b| a + b);
    seen.iter_mut().for_each(|v| *v = *v * inv);
}

/// Lanes of a reduction, sixteen partial results combined at the end, so the loop vectorises
/// (a single running sum or maximum is a chain the compiler must keep in order).
#[inline(always)]
fn lanes<E: Copy>(x: &[E], init: E, f: impl Fn(E, E) -> E) -> E {
    let mut acc = [init; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = f(*a, v);
        }
    }
    let tail = chunks.remainder().iter().fold(init, |a, &v| f(a, v));
    acc.iter().fold(tail, |a, &v| f(a, v))
}

const LANES: usize = 16;

/// `Σ a·b` in [`lanes`].
#[inline(always)]
fn dot<E: CpuElem>(a: &[E], b: &[E]) -> E {
    let mut acc = [E::zero(); LANES];
    let (mut ca, mut cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((s, &u), &v) in acc.iter_mut().zip(x).zip(y) {
            *s = *s + u * v;
        }
    }
    let tail = ca.remainder().iter().zip(cb.remainder()).fold(E::zero(), |s, (&u, &v)| s + u * v);
    acc.iter().fold(tail, |s, &v| s + v)
}

fn backward<E: CpuElem>(qkv: &[E], attn: &[E], dctx: &[E], dqkv: &mut [E], g: AttentionGeom) {
    let (e, t, d) = (g.width(), g.steps, g.head);
    let rows_n = g.batch * t;
    let sizes =
        [(qkv, rows_n * 3 * e), (attn, g.weights()), (dctx, rows_n * e), (&*dqkv, rows_n * 3 * e)];
    if t == 0 || !sizes_ok(&sizes) {
        debug_assert!(t == 0, "attention_backward: buffers smaller than {g:?}");
        return;
    }
    let scale = E::from_f64(g.scale());
    let out = Shared(dqkv.as_mut_ptr());
    // Each pair's `t·t` block of `ds`: the scores' gradient, first the weights' gradient.
    let mut ds = CpuBuf::<E>::scratch(g.weights());
    each_pair(&mut ds, t, move |i, ds| {
        let out = out;
        let (b, h) = (i / g.heads, i % g.heads);
        let (at, dc_at) = offsets(g, b, h);
        let w = &attn[i * t * t..(i + 1) * t * t];
        let dc = rows(dctx, dc_at, e);
        // SAFETY (every product below): the `qkv`, `dctx` and `attn` blocks of sample `b`, head
        // `h` are in bounds (sizes checked above); `ds` is this task's own `t·t` block; the three
        // `t × d` blocks of `dqkv` written (this sample's rows, this head's columns of the q, k
        // and v parts) belong to this task alone.
        unsafe {
            // dattn = dctx_h · v_hᵀ;  dv_h = attnᵀ · dctx_h
            product((t, d, t), ds.as_mut_ptr(), t, dc, cols(qkv, at + 2 * e, 3 * e), false);
            product((t, t, d), out.0.wrapping_add(at + 2 * e), 3 * e, square(w, t).1, dc, false);
        }
        for (wr, dr) in w.chunks_exact(t).zip(ds.chunks_exact_mut(t)) {
            let dot = dot(wr, dr);
            dr.iter_mut().zip(wr).for_each(|(o, &a)| *o = a * (*o - dot) * scale);
        }
        let (ds_v, ds_t) = square(ds, t);
        // SAFETY: as above.
        unsafe {
            // dq_h = ds · k_h;  dk_h = dsᵀ · q_h
            product(
                (t, t, d),
                out.0.wrapping_add(at),
                3 * e,
                ds_v,
                rows(qkv, at + e, 3 * e),
                false,
            );
            product(
                (t, t, d),
                out.0.wrapping_add(at + e),
                3 * e,
                ds_t,
                rows(qkv, at, 3 * e),
                false,
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use shapeflow_core::backend::{
        Attention, AttentionGeom, Device, attention_backward_composed, attention_forward_composed,
    };

    use crate::Cpu64;

    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n).map(|i| ((i as f64 + seed) * 0.731).sin()).collect()
    }

    fn close(a: &[f64], b: &[f64], what: &str) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-12, "{what}[{i}]: {x} vs {y}");
        }
    }

    /// The strided per-pair kernels agree with the composed defaults (head-major copies,
    /// batched products, mask, softmax), causal or not, with a padded sample.
    #[test]
    fn matches_composed_defaults() {
        let dev = Cpu64::default();
        for causal in [false, true] {
            let g = AttentionGeom { batch: 2, steps: 5, heads: 3, head: 4, causal };
            let (rows, e) = (g.batch * g.steps, g.width());
            let qkv = dev.upload(&values(rows * 3 * e, 0.0));
            let dctx = dev.upload(&values(rows * e, 9.0));
            let lengths = [5, 3];
            let run = |composed: bool| {
                let (mut attn, mut ctx, mut dqkv) =
                    (dev.zeros(g.weights()), dev.zeros(rows * e), dev.zeros(rows * 3 * e));
                if composed {
                    attention_forward_composed::<Cpu64>(&qkv, &lengths, &mut attn, &mut ctx, g);
                    attention_backward_composed::<Cpu64>(&qkv, &attn, &dctx, &mut dqkv, g);
                } else {
                    Cpu64::attention_forward(&qkv, &lengths, &mut attn, &mut ctx, g);
                    Cpu64::attention_backward(&qkv, &attn, &dctx, &mut dqkv, g);
                }
                [attn, ctx, dqkv].map(|b| Cpu64::to_host(&b))
            };
            let (fast, slow) = (run(false), run(true));
            for (name, (f, s)) in ["attn", "ctx", "dqkv"].iter().zip(fast.iter().zip(&slow)) {
                close(f, s, &format!("{name} causal={causal}"));
            }
        }
    }
}
