//! The op set on untyped values ([`Raw`]): what the typed methods on [`crate::Tensor`] run
//! forward, and what every derivative rule is written with, so each rule works on every
//! backend. Sizes are checked here once, with an `Err` that names the op and both shapes.

use crate::autograd::Raw;
use crate::backend::{Around, Backend, BinaryOp, Gemm, ReduceOp, UnaryOp, View};
use crate::error::{Error, Result};
use crate::shape::{Dims, MAX_RANK};

/// A buffer of `dims` on `like`'s device whose contents the caller overwrites.
pub(crate) fn scratch<B: Backend>(like: &Raw<B>, dims: Dims) -> Raw<B> {
    Raw { storage: B::scratch_like(&like.storage, dims.numel()), dims }
}

/// A zero buffer of `dims` on `like`'s device.
pub(crate) fn zeros<B: Backend>(like: &Raw<B>, dims: Dims) -> Raw<B> {
    Raw { storage: B::zeros_like(&like.storage, dims.numel()), dims }
}

pub(crate) fn unary<B: Backend>(op: UnaryOp, x: &Raw<B>) -> Raw<B> {
    let mut y = scratch(x, x.dims);
    B::unary(op, &x.storage, &mut y.storage);
    y
}

pub(crate) fn unary_grad<B: Backend>(op: UnaryOp, x: &Raw<B>, y: &Raw<B>, dy: &Raw<B>) -> Raw<B> {
    let mut dx = scratch(x, x.dims);
    B::unary_grad(op, &x.storage, &y.storage, &dy.storage, &mut dx.storage);
    dx
}

/// PyTorch's broadcast of two sizes lists; an `Err` naming the first pair that does not fit.
pub(crate) fn broadcast_dims(a: &Dims, b: &Dims, what: &str) -> Result<Dims> {
    let (a, b) = (a.as_slice(), b.as_slice());
    let r = a.len().max(b.len());
    let mut out = [0usize; MAX_RANK];
    for (i, slot) in out.iter_mut().enumerate().take(r) {
        let x = (i + a.len()).checked_sub(r).map(|j| a[j]);
        let y = (i + b.len()).checked_sub(r).map(|j| b[j]);
        *slot = match (x, y) {
            (Some(x), Some(y)) if x == y || y == 1 => x,
            (Some(1), Some(y)) => y,
            (Some(x), None) => x,
            (None, Some(y)) => y,
            (Some(x), Some(y)) => {
                return Err(Error::Shape(format!(
                    "{what}: cannot broadcast {a:?} with {b:?}: axis {i} of the result is {x} on one side and {y} on the other"
                )));
            }
            (None, None) => 1,
        };
    }
    Dims::new(&out[..r])
}

pub(crate) fn binary<B: Backend>(op: BinaryOp, a: &Raw<B>, b: &Raw<B>) -> Result<Raw<B>> {
    let out_dims = broadcast_dims(&a.dims, &b.dims, op_name(op))?;
    let mut out = scratch(a, out_dims);
    B::binary(
        op,
        (&a.storage, View::broadcast(&a.dims, &out_dims)),
        (&b.storage, View::broadcast(&b.dims, &out_dims)),
        &mut out.storage,
        &out_dims,
    );
    Ok(out)
}

fn op_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "add",
        BinaryOp::Sub => "sub",
        BinaryOp::Mul => "mul",
        BinaryOp::Div => "div",
        BinaryOp::Maximum => "maximum",
        BinaryOp::Minimum => "minimum",
        BinaryOp::Pow => "pow",
        BinaryOp::Eq => "eq",
        BinaryOp::Ne => "ne",
        BinaryOp::Lt => "lt",
        BinaryOp::Le => "le",
        BinaryOp::Gt => "gt",
        BinaryOp::Ge => "ge",
    }
}

/// `mask != 0 ? a : b`, the three broadcast together.
pub(crate) fn select<B: Backend>(mask: &Raw<B>, a: &Raw<B>, b: &Raw<B>) -> Result<Raw<B>> {
    let ab = broadcast_dims(&a.dims, &b.dims, "where_")?;
    let d = broadcast_dims(&mask.dims, &ab, "where_")?;
    let mut out = scratch(a, d);
    B::select(
        (&mask.storage, View::broadcast(&mask.dims, &d)),
        (&a.storage, View::broadcast(&a.dims, &d)),
        (&b.storage, View::broadcast(&b.dims, &d)),
        &mut out.storage,
        &d,
    );
    Ok(out)
}

/// The sizes with `axis` removed, or kept as 1.
pub(crate) fn reduced_dims(d: &Dims, axis: usize, keepdim: bool) -> Dims {
    let mut s: Vec<usize> = d.as_slice().to_vec();
    if keepdim {
        s[axis] = 1;
    } else {
        s.remove(axis);
    }
    Dims::new(&s).unwrap_or_default()
}

pub(crate) fn reduce<B: Backend>(op: ReduceOp, x: &Raw<B>, axis: usize, keepdim: bool) -> Raw<B> {
    let out_dims = reduced_dims(&x.dims, axis, keepdim);
    let mut out = scratch(x, out_dims);
    B::reduce(op, &x.storage, Around::axis(&x.dims, axis), &mut out.storage);
    out
}

/// The same buffer under other sizes with the same element count.
pub(crate) fn reshape<B: Backend>(x: &Raw<B>, dims: Dims) -> Raw<B> {
    Raw { storage: x.storage.clone(), dims }
}

/// Sums `x` over the axes along which `target` was broadcast to `x`'s sizes (the adjoint of
/// broadcasting).
pub(crate) fn sum_to<B: Backend>(x: &Raw<B>, target: &Dims) -> Raw<B> {
    if x.dims == *target {
        return x.clone();
    }
    let (r, t) = (x.dims.rank(), target.rank());
    let mut cur = x.clone();
    for i in 0..r {
        let want = if i < r - t { 1 } else { target.as_slice()[i - (r - t)] };
        if cur.dims.as_slice()[i] != want {
            cur = reduce(ReduceOp::Sum, &cur, i, true);
        }
    }
    reshape(&cur, *target)
}

/// `x` broadcast to `to` and written out.
pub(crate) fn expand<B: Backend>(x: &Raw<B>, to: Dims) -> Raw<B> {
    let mut out = scratch(x, to);
    B::copy_strided(
        &x.storage,
        View::broadcast(&x.dims, &to),
        &mut out.storage,
        View::contiguous(&to),
        &to,
    );
    out
}

/// Output axis `i` is input axis `perm[i]`.
pub(crate) fn permute<B: Backend>(x: &Raw<B>, perm: &[usize]) -> Raw<B> {
    let src = View::contiguous(&x.dims);
    let mut sizes = [0usize; MAX_RANK];
    let mut strides = [0usize; MAX_RANK];
    for (i, &p) in perm.iter().enumerate() {
        sizes[i] = x.dims.as_slice()[p];
        strides[i] = src.strides[p];
    }
    let to = Dims::new(&sizes[..perm.len()]).unwrap_or_default();
    let mut out = scratch(x, to);
    B::copy_strided(
        &x.storage,
        View { offset: 0, strides },
        &mut out.storage,
        View::contiguous(&to),
        &to,
    );
    out
}

/// The inverse of a permutation.
pub(crate) fn inverse_perm(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

/// `len` entries of `axis` from `start`.
pub(crate) fn narrow<B: Backend>(x: &Raw<B>, axis: usize, start: usize, len: usize) -> Raw<B> {
    let mut s = x.dims.as_slice().to_vec();
    s[axis] = len;
    let to = Dims::new(&s).unwrap_or_default();
    let mut src = View::contiguous(&x.dims);
    src.offset = start * src.strides[axis];
    let mut out = scratch(x, to);
    B::copy_strided(&x.storage, src, &mut out.storage, View::contiguous(&to), &to);
    out
}

/// Copies `part` into `into` at `start` along `axis` (the adjoint of [`narrow`] when `into`
/// is zero).
pub(crate) fn write_at<B: Backend>(part: &Raw<B>, into: &mut Raw<B>, axis: usize, start: usize) {
    let mut dst = View::contiguous(&into.dims);
    dst.offset = start * dst.strides[axis];
    B::copy_strided(
        &part.storage,
        View::contiguous(&part.dims),
        &mut into.storage,
        dst,
        &part.dims,
    );
}

/// Joins values along `axis`; every other size must agree.
pub(crate) fn cat<B: Backend>(xs: &[&Raw<B>], axis: usize) -> Result<Raw<B>> {
    let Some(first) = xs.first() else {
        return Err(Error::Shape("cat: no tensors to join".into()));
    };
    let mut total = 0;
    for x in xs {
        for (i, (&a, &b)) in x.dims.as_slice().iter().zip(first.dims.as_slice()).enumerate() {
            if i != axis && a != b {
                return Err(Error::Shape(format!(
                    "cat along axis {axis}: sizes {} and {} differ on axis {i}",
                    first.dims, x.dims
                )));
            }
        }
        total += x.dims.as_slice()[axis];
    }
    let mut s = first.dims.as_slice().to_vec();
    s[axis] = total;
    let mut out = scratch(first, Dims::new(&s)?);
    let mut at = 0;
    for x in xs {
        write_at(x, &mut out, axis, at);
        at += x.dims.as_slice()[axis];
    }
    Ok(out)
}

/// Gathers along `axis` by `idx` (`outer·k·inner` indices, each below the axis's size).
pub(crate) fn gather<B: Backend>(x: &Raw<B>, axis: usize, idx: &[usize], k: usize) -> Raw<B> {
    let mut s = x.dims.as_slice().to_vec();
    s[axis] = k;
    let to = Dims::new(&s).unwrap_or_default();
    let mut out = scratch(x, to);
    B::gather(&x.storage, Around::axis(&x.dims, axis), idx, k, &mut out.storage);
    out
}

/// The adjoint of [`gather`]: `g` scattered (summed) into zeros of `full` sizes.
pub(crate) fn scatter_add<B: Backend>(
    g: &Raw<B>,
    full: Dims,
    axis: usize,
    idx: &[usize],
) -> Raw<B> {
    let k = g.dims.as_slice()[axis];
    let mut out = zeros(g, full);
    B::scatter_add(&g.storage, Around::axis(&full, axis), idx, k, &mut out.storage);
    out
}

/// `op(a) · op(b)` over the last two axes, the leading (batch) axes broadcast; `trans_*`
/// reads that operand's last two axes swapped.
pub(crate) fn matmul<B: Backend>(
    a: &Raw<B>,
    b: &Raw<B>,
    trans_a: bool,
    trans_b: bool,
) -> Result<Raw<B>> {
    let (ra, rb) = (a.dims.rank(), b.dims.rank());
    if ra < 2 || rb < 2 {
        return Err(Error::Shape("matmul: both operands need at least two axes".into()));
    }
    let (sa, sb) = (a.dims.as_slice(), b.dims.as_slice());
    let (m, k) = if trans_a { (sa[ra - 1], sa[ra - 2]) } else { (sa[ra - 2], sa[ra - 1]) };
    let (k2, n) = if trans_b { (sb[rb - 1], sb[rb - 2]) } else { (sb[rb - 2], sb[rb - 1]) };
    if k != k2 {
        return Err(Error::Shape(format!(
            "matmul: {} times {}: the inner sizes {k} and {k2} differ",
            a.dims, b.dims
        )));
    }
    let batch = broadcast_dims(
        &Dims::new(&sa[..ra - 2])?,
        &Dims::new(&sb[..rb - 2])?,
        "matmul (batch axes)",
    )?;
    let count = batch.numel();
    let full = |x: &Raw<B>, last: [usize; 2]| -> Result<Raw<B>> {
        let mut s = batch.as_slice().to_vec();
        s.extend_from_slice(&last);
        let want = Dims::new(&s)?;
        Ok(if x.dims.numel() == want.numel() { reshape(x, want) } else { expand(x, want) })
    };
    let a_full = full(a, [sa[ra - 2], sa[ra - 1]])?;
    let b_full = full(b, [sb[rb - 2], sb[rb - 1]])?;
    let mut s = batch.as_slice().to_vec();
    s.extend_from_slice(&[m, n]);
    let out_dims = Dims::new(&s)?;
    let mut out = scratch(a, out_dims);
    let mut g = Gemm::new(m, k, n);
    if trans_a {
        g = g.transpose_a();
    }
    if trans_b {
        g = g.transpose_b();
    }
    if count == 1 {
        B::matmul(&a_full.storage, &b_full.storage, &mut out.storage, g);
    } else if count > 0 {
        B::matmul_batched(&a_full.storage, &b_full.storage, &mut out.storage, g, count);
    }
    Ok(out)
}
