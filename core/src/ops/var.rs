//! [`Var`]: an untyped value with its autograd node, and the op set on it. Each primitive here
//! runs its forward on [`raw`] and records its derivative rule, written once as a plain
//! function of raw values; composite ops (softmax, variance, norms…) are written with the
//! primitives and are differentiated through them. The typed methods on [`crate::Tensor`] wrap
//! these.

use std::sync::Arc;

use super::raw;
use crate::autograd::{Node, Raw, record};
use crate::backend::{Backend, BinaryOp, Elem, ReduceOp, UnaryOp};
use crate::error::{Error, Result};
use crate::shape::Dims;

/// A value and, when it is tracked, its node.
pub(crate) struct Var<B: Backend> {
    pub raw: Raw<B>,
    pub node: Option<Arc<Node<B>>>,
}

impl<B: Backend> Clone for Var<B> {
    fn clone(&self) -> Self {
        Var { raw: self.raw.clone(), node: self.node.clone() }
    }
}

fn one<B: Backend>(g: Raw<B>) -> Result<Vec<Option<Raw<B>>>> {
    Ok(vec![Some(g)])
}

impl<B: Backend> Var<B> {
    pub(crate) fn new(raw: Raw<B>, node: Option<Arc<Node<B>>>) -> Self {
        Var { raw, node }
    }

    pub(crate) fn dims(&self) -> Dims {
        self.raw.dims
    }

    /// An untracked constant of the given sizes on this value's device.
    pub(crate) fn constant(&self, dims: Dims, value: f64) -> Var<B> {
        let mut r = raw::scratch(&self.raw, dims);
        B::fill(&mut r.storage, B::Elem::from_f64(value));
        Var::new(r, None)
    }

    pub(crate) fn unary(&self, op: UnaryOp) -> Var<B> {
        let y = raw::unary(op, &self.raw);
        let node = record(&[self.node.as_ref()], y.dims, {
            let (x, y) = (self.raw.clone(), y.clone());
            move |g, _| one(raw::unary_grad(op, &x, &y, g))
        });
        Var::new(y, node)
    }

    pub(crate) fn binary(&self, op: BinaryOp, other: &Var<B>) -> Result<Var<B>> {
        let out = raw::binary(op, &self.raw, &other.raw)?;
        if op.is_comparison() {
            return Ok(Var::new(out, None));
        }
        let (a, b, y) = (self.raw.clone(), other.raw.clone(), out.clone());
        let node = record(&[self.node.as_ref(), other.node.as_ref()], out.dims, move |g, needs| {
            binary_rule(op, &a, &b, &y, g, needs)
        });
        Ok(Var::new(out, node))
    }

    /// `mask != 0 ? self : other`.
    pub(crate) fn select(&self, mask: &Var<B>, other: &Var<B>) -> Result<Var<B>> {
        let out = raw::select(&mask.raw, &self.raw, &other.raw)?;
        let (m, a_dims, b_dims) = (mask.raw.clone(), self.raw.dims, other.raw.dims);
        let node = record(&[self.node.as_ref(), other.node.as_ref()], out.dims, move |g, needs| {
            let zero = raw::zeros(g, Dims::default());
            let ga = needs[0]
                .then(|| raw::select(&m, g, &zero).map(|x| raw::sum_to(&x, &a_dims)))
                .transpose()?;
            let gb = needs[1]
                .then(|| raw::select(&m, &zero, g).map(|x| raw::sum_to(&x, &b_dims)))
                .transpose()?;
            Ok(vec![ga, gb])
        });
        Ok(Var::new(out, node))
    }

    pub(crate) fn sum(&self, axis: usize, keepdim: bool) -> Var<B> {
        let out = raw::reduce(ReduceOp::Sum, &self.raw, axis, keepdim);
        let x_dims = self.raw.dims;
        let node = record(&[self.node.as_ref()], out.dims, move |g, _| {
            let kept = raw::reshape(g, raw::reduced_dims(&x_dims, axis, true));
            one(raw::expand(&kept, x_dims))
        });
        Var::new(out, node)
    }

    pub(crate) fn sum_all(&self) -> Var<B> {
        let flat = self.reshape(Dims::new(&[self.raw.dims.numel()]).unwrap_or_default());
        flat.sum(0, false)
    }

    /// The largest (`Max`) or smallest (`Min`) value along `axis`; the gradient flows to the
    /// first position holding it, as PyTorch's `max(dim)`.
    pub(crate) fn extreme(&self, op: ReduceOp, axis: usize, keepdim: bool) -> Var<B> {
        let arg = if op == ReduceOp::Max { ReduceOp::ArgMax } else { ReduceOp::ArgMin };
        let idx = raw::reduce(arg, &self.raw, axis, true);
        let k_idx: Vec<usize> =
            B::to_host(&idx.storage).iter().map(|v| v.as_f64() as usize).collect();
        let kept = raw::gather(&self.raw, axis, &k_idx, 1);
        let out_dims = raw::reduced_dims(&self.raw.dims, axis, keepdim);
        let out = raw::reshape(&kept, out_dims);
        let x_dims = self.raw.dims;
        let node = record(&[self.node.as_ref()], out_dims, move |g, _| {
            let g1 = raw::reshape(g, raw::reduced_dims(&x_dims, axis, true));
            one(raw::scatter_add(&g1, x_dims, axis, &k_idx))
        });
        Var::new(out, node)
    }

    /// Indices of the extreme values along `axis` (untracked).
    pub(crate) fn arg(&self, op: ReduceOp, axis: usize, keepdim: bool) -> Var<B> {
        Var::new(raw::reduce(op, &self.raw, axis, keepdim), None)
    }

    pub(crate) fn reshape(&self, dims: Dims) -> Var<B> {
        let out = raw::reshape(&self.raw, dims);
        let from = self.raw.dims;
        let node = record(&[self.node.as_ref()], dims, move |g, _| one(raw::reshape(g, from)));
        Var::new(out, node)
    }

    pub(crate) fn permute(&self, perm: &[usize]) -> Var<B> {
        let out = raw::permute(&self.raw, perm);
        let inv = raw::inverse_perm(perm);
        let node = record(&[self.node.as_ref()], out.dims, move |g, _| one(raw::permute(g, &inv)));
        Var::new(out, node)
    }

    pub(crate) fn expand(&self, to: Dims) -> Result<Var<B>> {
        let full = raw::broadcast_dims(&self.raw.dims, &to, "expand")?;
        if full != to {
            return Err(Error::Shape(format!(
                "expand: {} does not broadcast to {to}",
                self.raw.dims
            )));
        }
        let out = raw::expand(&self.raw, to);
        let from = self.raw.dims;
        let node = record(&[self.node.as_ref()], to, move |g, _| one(raw::sum_to(g, &from)));
        Ok(Var::new(out, node))
    }

    pub(crate) fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Var<B>> {
        let size = self.raw.dims.as_slice()[axis];
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(Error::Shape(format!(
                "narrow: entries {start}..{} of axis {axis} of a tensor of sizes {}: the axis has {size}",
                start.saturating_add(len),
                self.raw.dims
            )));
        }
        let out = raw::narrow(&self.raw, axis, start, len);
        let from = self.raw.dims;
        let node = record(&[self.node.as_ref()], out.dims, move |g, _| {
            let mut full = raw::zeros(g, from);
            raw::write_at(g, &mut full, axis, start);
            one(full)
        });
        Ok(Var::new(out, node))
    }

    pub(crate) fn cat(parts: &[Var<B>], axis: usize) -> Result<Var<B>> {
        let raws: Vec<&Raw<B>> = parts.iter().map(|p| &p.raw).collect();
        let out = raw::cat(&raws, axis)?;
        let sizes: Vec<usize> = parts.iter().map(|p| p.raw.dims.as_slice()[axis]).collect();
        let nodes: Vec<Option<&Arc<Node<B>>>> = parts.iter().map(|p| p.node.as_ref()).collect();
        let node = record(&nodes, out.dims, move |g, needs| {
            let mut at = 0;
            let mut grads = Vec::with_capacity(sizes.len());
            for (&n, &need) in sizes.iter().zip(needs) {
                grads.push(need.then(|| raw::narrow(g, axis, at, n)));
                at += n;
            }
            Ok(grads)
        });
        Ok(Var::new(out, node))
    }

    /// `out[…, j, …] = self[…, idx[…, j, …], …]` along `axis`, `idx` of the output's sizes.
    pub(crate) fn gather(&self, axis: usize, idx: Vec<usize>, k: usize) -> Result<Var<B>> {
        let n = self.raw.dims.as_slice()[axis];
        if let Some((i, &bad)) = idx.iter().enumerate().find(|(_, v)| **v >= n) {
            return Err(Error::Shape(format!(
                "gather along axis {axis}: index {bad} (at position {i}) is out of range for an axis of size {n}"
            )));
        }
        let out = raw::gather(&self.raw, axis, &idx, k);
        let from = self.raw.dims;
        let node = record(&[self.node.as_ref()], out.dims, move |g, _| {
            one(raw::scatter_add(g, from, axis, &idx))
        });
        Ok(Var::new(out, node))
    }

    /// `self` with `src` added at `idx` along `axis` (`idx` of `src`'s sizes).
    pub(crate) fn scatter_add(&self, axis: usize, idx: Vec<usize>, src: &Var<B>) -> Result<Var<B>> {
        let n = self.raw.dims.as_slice()[axis];
        if let Some((i, &bad)) = idx.iter().enumerate().find(|(_, v)| **v >= n) {
            return Err(Error::Shape(format!(
                "scatter_add along axis {axis}: index {bad} (at position {i}) is out of range for an axis of size {n}"
            )));
        }
        let k = src.raw.dims.as_slice()[axis];
        let mut out = self.raw.clone();
        B::scatter_add(
            &src.raw.storage,
            crate::backend::Around::axis(&self.raw.dims, axis),
            &idx,
            k,
            &mut out.storage,
        );
        let node = record(&[self.node.as_ref(), src.node.as_ref()], out.dims, move |g, needs| {
            let gs = needs[1].then(|| raw::gather(g, axis, &idx, k));
            Ok(vec![needs[0].then(|| g.clone()), gs])
        });
        Ok(Var::new(out, node))
    }

    pub(crate) fn matmul(&self, other: &Var<B>) -> Result<Var<B>> {
        let out = raw::matmul(&self.raw, &other.raw, false, false)?;
        let (a, b) = (self.raw.clone(), other.raw.clone());
        let node = record(&[self.node.as_ref(), other.node.as_ref()], out.dims, move |g, needs| {
            let ga = needs[0]
                .then(|| raw::matmul(g, &b, false, true).map(|x| raw::sum_to(&x, &a.dims)))
                .transpose()?;
            let gb = needs[1]
                .then(|| raw::matmul(&a, g, true, false).map(|x| raw::sum_to(&x, &b.dims)))
                .transpose()?;
            Ok(vec![ga, gb])
        });
        Ok(Var::new(out, node))
    }

    // ---- composites: differentiated through the primitives above ----

    pub(crate) fn mean(&self, axis: usize, keepdim: bool) -> Var<B> {
        let n = self.raw.dims.as_slice()[axis] as f64;
        self.sum(axis, keepdim).unary(UnaryOp::MulScalar(1.0 / n))
    }

    /// Variance along `axis` with `correction` (1: Bessel's, PyTorch's default).
    pub(crate) fn var(&self, axis: usize, keepdim: bool, correction: usize) -> Result<Var<B>> {
        let n = self.raw.dims.as_slice()[axis];
        let mean = self.mean(axis, true);
        let centered = self.binary(BinaryOp::Sub, &mean)?;
        let ss = centered.unary(UnaryOp::Square).sum(axis, keepdim);
        let denom = n.saturating_sub(correction) as f64;
        Ok(ss.unary(UnaryOp::MulScalar(1.0 / denom)))
    }

    pub(crate) fn logsumexp(&self, axis: usize, keepdim: bool) -> Result<Var<B>> {
        // the max is a constant shift (its gradient cancels), so it is taken untracked
        let m = Var::new(raw::reduce(ReduceOp::Max, &self.raw, axis, true), None);
        let m = finite_or_zero(&m)?;
        let s =
            self.binary(BinaryOp::Sub, &m)?.unary(UnaryOp::Exp).sum(axis, true).unary(UnaryOp::Log);
        let out = s.binary(BinaryOp::Add, &m)?;
        Ok(if keepdim { out } else { out.reshape(raw::reduced_dims(&self.raw.dims, axis, false)) })
    }

    pub(crate) fn softmax(&self, axis: usize) -> Result<Var<B>> {
        let m = Var::new(raw::reduce(ReduceOp::Max, &self.raw, axis, true), None);
        let m = finite_or_zero(&m)?;
        let e = self.binary(BinaryOp::Sub, &m)?.unary(UnaryOp::Exp);
        let s = e.sum(axis, true);
        e.binary(BinaryOp::Div, &s)
    }

    pub(crate) fn log_softmax(&self, axis: usize) -> Result<Var<B>> {
        let lse = self.logsumexp(axis, true)?;
        self.binary(BinaryOp::Sub, &lse)
    }

    /// The `p`-norm along `axis` (`p` > 0).
    pub(crate) fn norm(&self, p: f64, axis: usize, keepdim: bool) -> Var<B> {
        if p == 2.0 {
            return self.unary(UnaryOp::Square).sum(axis, keepdim).unary(UnaryOp::Sqrt);
        }
        self.unary(UnaryOp::Abs)
            .unary(UnaryOp::Powf(p))
            .sum(axis, keepdim)
            .unary(UnaryOp::Powf(1.0 / p))
    }
}

/// An untracked shift with infinite entries (rows of −inf) replaced by 0, so `x − max` stays
/// finite where it can.
fn finite_or_zero<B: Backend>(m: &Var<B>) -> Result<Var<B>> {
    let inf_mask = raw::unary(UnaryOp::Abs, &m.raw);
    let big = raw::scratch(&m.raw, Dims::default());
    let mut big = big;
    B::fill(&mut big.storage, B::Elem::from_f64(f64::INFINITY));
    let is_inf = raw::binary(BinaryOp::Eq, &inf_mask, &big)?;
    let zero = raw::zeros(&m.raw, Dims::default());
    Ok(Var::new(raw::select(&is_inf, &zero, &m.raw)?, None))
}

/// Each input's gradient for a binary op, summed back over broadcast axes.
fn binary_rule<B: Backend>(
    op: BinaryOp,
    a: &Raw<B>,
    b: &Raw<B>,
    y: &Raw<B>,
    g: &Raw<B>,
    needs: &[bool],
) -> Result<Vec<Option<Raw<B>>>> {
    use BinaryOp as O;
    let mul = |x: &Raw<B>, y: &Raw<B>| raw::binary(O::Mul, x, y);
    let (ga, gb): (Option<Raw<B>>, Option<Raw<B>>) = match op {
        O::Add => (Some(g.clone()), Some(g.clone())),
        O::Sub => (Some(g.clone()), Some(raw::unary(UnaryOp::Neg, g))),
        O::Mul => {
            (needs[0].then(|| mul(g, b)).transpose()?, needs[1].then(|| mul(g, a)).transpose()?)
        }
        O::Div => (
            needs[0].then(|| raw::binary(O::Div, g, b)).transpose()?,
            needs[1]
                .then(|| -> Result<Raw<B>> {
                    let gy = mul(g, y)?;
                    Ok(raw::unary(UnaryOp::Neg, &raw::binary(O::Div, &gy, b)?))
                })
                .transpose()?,
        ),
        O::Maximum | O::Minimum => {
            let wins = if op == O::Maximum { O::Gt } else { O::Lt };
            let weight = |x: &Raw<B>, z: &Raw<B>| -> Result<Raw<B>> {
                let w = raw::binary(wins, x, z)?;
                let tie = raw::unary(UnaryOp::MulScalar(0.5), &raw::binary(O::Eq, x, z)?);
                raw::binary(O::Add, &w, &tie)
            };
            (
                needs[0].then(|| weight(a, b).and_then(|w| mul(g, &w))).transpose()?,
                needs[1].then(|| weight(b, a).and_then(|w| mul(g, &w))).transpose()?,
            )
        }
        O::Pow => (
            needs[0]
                .then(|| -> Result<Raw<B>> {
                    let bm1 = raw::unary(UnaryOp::AddScalar(-1.0), b);
                    let d = mul(b, &raw::binary(O::Pow, a, &bm1)?)?;
                    mul(g, &d)
                })
                .transpose()?,
            needs[1]
                .then(|| -> Result<Raw<B>> {
                    let d = mul(y, &raw::unary(UnaryOp::Log, a))?;
                    let zero = raw::zeros(a, Dims::default());
                    let at_zero = raw::binary(O::Eq, a, &zero)?;
                    let d = raw::select(&at_zero, &zero, &d)?;
                    mul(g, &d)
                })
                .transpose()?,
        ),
        O::Eq | O::Ne | O::Lt | O::Le | O::Gt | O::Ge => (None, None),
    };
    Ok(vec![
        ga.filter(|_| needs[0]).map(|x| raw::sum_to(&x, &a.dims)),
        gb.filter(|_| needs[1]).map(|x| raw::sum_to(&x, &b.dims)),
    ])
}
