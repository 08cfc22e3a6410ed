//! `impl Strided for CpuDevice`: the reference strided kernels of
//! `shapeflow_core::backend::strided_host`, run in place on the buffers; elementwise maps and
//! same-shape binary ops over large tensors are split across the workers in fixed chunks (an
//! elementwise map, so the results do not depend on the split).

use rayon::prelude::*;
use shapeflow_core::Dims;
use shapeflow_core::backend::{
    Around, BinaryOp, ReduceOp, Strided, UnaryOp, View, strided_host as host,
};

use crate::{CpuBuf, CpuDevice, CpuElem};

/// Tensors at least this large are processed by every worker, in chunks of [`CHUNK`].
const PARALLEL_MIN: usize = 1 << 15;
const CHUNK: usize = 1 << 13;

impl<E: CpuElem> Strided for CpuDevice<E> {
    fn unary(op: UnaryOp, x: &CpuBuf<E>, y: &mut CpuBuf<E>) {
        let (x, y): (&[E], &mut [E]) = (x, y);
        if y.len() >= PARALLEL_MIN {
            y.par_chunks_mut(CHUNK)
                .zip(x.par_chunks(CHUNK))
                .for_each(|(y, x)| host::unary(op, x, y));
        } else {
            host::unary(op, x, y);
        }
    }
    fn unary_grad(op: UnaryOp, x: &CpuBuf<E>, y: &CpuBuf<E>, dy: &CpuBuf<E>, dx: &mut CpuBuf<E>) {
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
    fn binary(
        op: BinaryOp,
        a: (&CpuBuf<E>, View),
        b: (&CpuBuf<E>, View),
        out: &mut CpuBuf<E>,
        dims: &Dims,
    ) {
        let out: &mut [E] = out;
        if out.len() >= PARALLEL_MIN && a.1.is_contiguous(dims) && b.1.is_contiguous(dims) {
            let whole = |len| Dims::new(&[len]).unwrap_or_default();
            out.par_chunks_mut(CHUNK)
                .zip(a.0.par_chunks(CHUNK))
                .zip(b.0.par_chunks(CHUNK))
                .for_each(|((o, a), b)| {
                    let d = whole(o.len());
                    let v = View::contiguous(&d);
                    host::binary(op, (a, v), (b, v), o, &d);
                });
        } else {
            host::binary(op, (a.0, a.1), (b.0, b.1), out, dims);
        }
    }
    fn select(
        mask: (&CpuBuf<E>, View),
        a: (&CpuBuf<E>, View),
        b: (&CpuBuf<E>, View),
        out: &mut CpuBuf<E>,
        dims: &Dims,
    ) {
        host::select((mask.0, mask.1), (a.0, a.1), (b.0, b.1), out, dims);
    }
    fn reduce(op: ReduceOp, x: &CpuBuf<E>, around: Around, out: &mut CpuBuf<E>) {
        host::reduce(op, x, around, out);
    }
    fn copy_strided(src: &CpuBuf<E>, vs: View, dst: &mut CpuBuf<E>, vd: View, dims: &Dims) {
        host::copy_strided(src, vs, dst, vd, dims);
    }
    fn gather(x: &CpuBuf<E>, around: Around, idx: &[usize], k: usize, out: &mut CpuBuf<E>) {
        host::gather(x, around, idx, k, out);
    }
    fn scatter_add(src: &CpuBuf<E>, around: Around, idx: &[usize], k: usize, dst: &mut CpuBuf<E>) {
        host::scatter_add(src, around, idx, k, dst);
    }
}
