//! The reference strided kernels over host slices: the default bodies of
//! [`super::Strided`], and what the CPU backend runs in place. The innermost axis runs as a
//! plain loop specialised for strides 1 and 0 (contiguous or broadcast), which LLVM vectorises.

use super::Elem;
use super::scalar_ops::{BinaryOp, ReduceOp, UnaryOp};
use super::strided::{Around, View};
use crate::shape::Dims;

/// `y = f(x)`.
pub fn unary<E: Elem>(op: UnaryOp, x: &[E], y: &mut [E]) {
    macro_rules! map {
        ($f:expr) => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = $f(v);
            }
        };
    }
    match op {
        UnaryOp::Neg => map!(|v: E| -v),
        UnaryOp::Square => map!(|v: E| v * v),
        UnaryOp::AddScalar(s) => {
            let s = E::from_f64(s);
            map!(|v: E| v + s)
        }
        UnaryOp::MulScalar(s) => {
            let s = E::from_f64(s);
            map!(|v: E| v * s)
        }
        op => map!(|v: E| op.apply(v)),
    }
}

/// `dx = dy · f'(x)`.
pub fn unary_grad<E: Elem>(op: UnaryOp, x: &[E], y: &[E], dy: &[E], dx: &mut [E]) {
    for (((o, &x), &y), &g) in dx.iter_mut().zip(x).zip(y).zip(dy) {
        *o = g * op.derivative(x, y);
    }
}

/// Calls `row(a_offset, b_offset, out_offset)` for every innermost row of `dims`, with the
/// offsets of each view's first element of that row.
fn for_rows(dims: &Dims, views: &[View], mut row: impl FnMut(&[usize], usize)) {
    let s = dims.as_slice();
    let rank = s.len();
    if rank == 0 {
        let offs: Vec<usize> = views.iter().map(|v| v.offset).collect();
        row(&offs, 0);
        return;
    }
    if s.contains(&0) {
        return;
    }
    let inner = s[rank - 1];
    let outer: usize = s[..rank - 1].iter().product();
    let mut idx = [0usize; crate::shape::MAX_RANK];
    let mut offs: Vec<usize> = views.iter().map(|v| v.offset).collect();
    for r in 0..outer {
        row(&offs, r * inner);
        // advance the odometer over the outer axes
        let mut ax = rank - 1;
        while ax > 0 {
            ax -= 1;
            idx[ax] += 1;
            for (o, v) in offs.iter_mut().zip(views) {
                *o += v.strides[ax];
            }
            if idx[ax] < s[ax] {
                break;
            }
            for (o, v) in offs.iter_mut().zip(views) {
                *o -= v.strides[ax] * s[ax];
            }
            idx[ax] = 0;
        }
    }
}

/// `out = op(a, b)` over `dims` through the views; `out` contiguous.
pub fn binary<E: Elem>(op: BinaryOp, a: (&[E], View), b: (&[E], View), out: &mut [E], dims: &Dims) {
    if a.1.is_contiguous(dims) && b.1.is_contiguous(dims) {
        return binary_flat(op, a.0, b.0, out);
    }
    let rank = dims.rank();
    let inner = dims.as_slice().last().copied().unwrap_or(1);
    let (sa, sb) = if rank == 0 { (0, 0) } else { (a.1.strides[rank - 1], b.1.strides[rank - 1]) };
    for_rows(dims, &[a.1, b.1], |offs, o| {
        let dst = &mut out[o..o + inner];
        match (sa, sb) {
            (1, 1) => {
                binary_flat(op, &a.0[offs[0]..offs[0] + inner], &b.0[offs[1]..offs[1] + inner], dst)
            }
            (1, 0) => {
                let bv = b.0[offs[1]];
                for (d, &x) in dst.iter_mut().zip(&a.0[offs[0]..offs[0] + inner]) {
                    *d = op.apply(x, bv);
                }
            }
            (0, 1) => {
                let av = a.0[offs[0]];
                for (d, &y) in dst.iter_mut().zip(&b.0[offs[1]..offs[1] + inner]) {
                    *d = op.apply(av, y);
                }
            }
            _ => {
                for (j, d) in dst.iter_mut().enumerate() {
                    *d = op.apply(a.0[offs[0] + j * sa], b.0[offs[1] + j * sb]);
                }
            }
        }
    });
}

fn binary_flat<E: Elem>(op: BinaryOp, a: &[E], b: &[E], out: &mut [E]) {
    macro_rules! zip {
        ($f:expr) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = $f(x, y);
            }
        };
    }
    match op {
        BinaryOp::Add => zip!(|x, y| x + y),
        BinaryOp::Sub => zip!(|x, y| x - y),
        BinaryOp::Mul => zip!(|x, y| x * y),
        BinaryOp::Div => zip!(|x, y| x / y),
        op => zip!(|x, y| op.apply(x, y)),
    }
}

/// `out = mask != 0 ? a : b` over `dims`.
pub fn select<E: Elem>(
    mask: (&[E], View),
    a: (&[E], View),
    b: (&[E], View),
    out: &mut [E],
    dims: &Dims,
) {
    let rank = dims.rank();
    let inner = dims.as_slice().last().copied().unwrap_or(1);
    let st = |v: &View| if rank == 0 { 0 } else { v.strides[rank - 1] };
    let (sm, sa, sb) = (st(&mask.1), st(&a.1), st(&b.1));
    for_rows(dims, &[mask.1, a.1, b.1], |offs, o| {
        for (j, d) in out[o..o + inner].iter_mut().enumerate() {
            let m = mask.0[offs[0] + j * sm];
            *d = if m != E::zero() { a.0[offs[1] + j * sa] } else { b.0[offs[2] + j * sb] };
        }
    });
}

/// Reduces `[outer, n, inner]` along `n`.
pub fn reduce<E: Elem>(op: ReduceOp, x: &[E], around: Around, out: &mut [E]) {
    let Around { outer, n, inner } = around;
    if inner == 1 {
        for (o, row) in out.iter_mut().zip(x.chunks_exact(n.max(1))) {
            *o = op.reduce(&row[..n]);
        }
        if n == 0 {
            out.iter_mut().for_each(|o| *o = op.reduce::<E>(&[]));
        }
        return;
    }
    if op == ReduceOp::Sum {
        // accumulate whole rows of `inner` values in f64, in memory order
        let mut acc = vec![0f64; inner];
        for o in 0..outer {
            acc.iter_mut().for_each(|a| *a = 0.0);
            for j in 0..n {
                let row = &x[(o * n + j) * inner..(o * n + j + 1) * inner];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += v.as_f64();
                }
            }
            for (d, &a) in out[o * inner..(o + 1) * inner].iter_mut().zip(&acc) {
                *d = E::from_f64(a);
            }
        }
        return;
    }
    for o in 0..outer {
        for i in 0..inner {
            out[o * inner + i] = op.reduce_iter((0..n).map(|j| x[(o * n + j) * inner + i]));
        }
    }
}

/// Copies `dims` from `src` through `vs` into `dst` through `vd`.
pub fn copy_strided<E: Elem>(src: &[E], vs: View, dst: &mut [E], vd: View, dims: &Dims) {
    let rank = dims.rank();
    let inner = dims.as_slice().last().copied().unwrap_or(1);
    let (ss, sd) = if rank == 0 { (0, 0) } else { (vs.strides[rank - 1], vd.strides[rank - 1]) };
    for_rows(dims, &[vs, vd], |offs, _| {
        if ss == 1 && sd == 1 {
            dst[offs[1]..offs[1] + inner].copy_from_slice(&src[offs[0]..offs[0] + inner]);
        } else {
            for j in 0..inner {
                dst[offs[1] + j * sd] = src[offs[0] + j * ss];
            }
        }
    });
}

/// `out[o, j, i] = x[o, idx[o, j, i], i]`.
pub fn gather<E: Elem>(x: &[E], around: Around, idx: &[usize], k: usize, out: &mut [E]) {
    let Around { outer, n, inner } = around;
    for o in 0..outer {
        for j in 0..k {
            for i in 0..inner {
                let p = (o * k + j) * inner + i;
                out[p] = x[(o * n + idx[p]) * inner + i];
            }
        }
    }
}

/// `dst[o, idx[o, j, i], i] += src[o, j, i]`.
pub fn scatter_add<E: Elem>(src: &[E], around: Around, idx: &[usize], k: usize, dst: &mut [E]) {
    let Around { outer, n, inner } = around;
    for o in 0..outer {
        for j in 0..k {
            for i in 0..inner {
                let p = (o * k + j) * inner + i;
                let q = (o * n + idx[p]) * inner + i;
                dst[q] = dst[q] + src[p];
            }
        }
    }
}
