//! The strided family: the few generic kernels behind the whole tensor op set — elementwise
//! functions, broadcast binary ops, a three-way select, reductions along an axis, strided copies
//! (permute, narrow, cat, expand and repeat are all one copy) and gathers along an axis.
//!
//! Every method has a default body that runs the reference kernels of
//! [`super::strided_host`] through host memory, so a new backend has the op set at once; the CPU
//! backend runs the same kernels in place (vectorised, on its workers for large tensors).
use super::contract::{check_indices, contract, count, span};

use super::Device;
use super::scalar_ops::{BinaryOp, ReduceOp, UnaryOp};
use super::strided_host as host;
use crate::shape::{Dims, MAX_RANK};

/// Where a tensor's elements are for a strided kernel: the first element's offset and each
/// axis's stride in elements (0 on an axis that is broadcast).
///
/// ```
/// use shapeflow_core::{Dims, backend::View};
/// let v = View::contiguous(&Dims::new(&[2, 3]).unwrap());
/// assert_eq!(&v.strides[..2], &[3, 1]);
/// let b = View::broadcast(&Dims::new(&[3]).unwrap(), &Dims::new(&[2, 3]).unwrap());
/// assert_eq!(&b.strides[..2], &[0, 1]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// Index of the element at position 0.
    pub offset: usize,
    /// Elements to step per unit of each axis (outermost first).
    pub strides: [usize; MAX_RANK],
}

impl View {
    /// The row-major layout of a contiguous tensor of `dims`.
    pub fn contiguous(dims: &Dims) -> Self {
        let mut strides = [0; MAX_RANK];
        let mut step = 1;
        for (i, &d) in dims.as_slice().iter().enumerate().rev() {
            strides[i] = step;
            step *= d;
        }
        View { offset: 0, strides }
    }

    /// A contiguous tensor of `from` read as `to` by PyTorch's broadcasting: aligned from the
    /// right, axes of size 1 and missing leading axes repeat (stride 0). The caller has checked
    /// that `from` broadcasts to `to`.
    pub fn broadcast(from: &Dims, to: &Dims) -> Self {
        let own = View::contiguous(from);
        let mut strides = [0; MAX_RANK];
        let (fr, tr) = (from.rank(), to.rank());
        for i in 0..fr {
            let t = tr - fr + i;
            strides[t] = if from.as_slice()[i] == 1 { 0 } else { own.strides[i] };
        }
        View { offset: 0, strides }
    }

    /// Whether this is the contiguous layout of `dims`.
    pub fn is_contiguous(&self, dims: &Dims) -> bool {
        *self == View::contiguous(dims)
    }
}

/// A contiguous tensor viewed as `[outer, n, inner]` around the axis a reduction or gather works
/// along.
///
/// ```
/// use shapeflow_core::{Dims, backend::Around};
/// let a = Around::axis(&Dims::new(&[2, 3, 4]).unwrap(), 1);
/// assert_eq!((a.outer, a.n, a.inner), (2, 3, 4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Around {
    /// Product of the sizes before the axis.
    pub outer: usize,
    /// The axis's size.
    pub n: usize,
    /// Product of the sizes after the axis.
    pub inner: usize,
}

impl Around {
    /// `dims` around axis `axis` (which must be below the rank).
    pub fn axis(dims: &Dims, axis: usize) -> Self {
        let s = dims.as_slice();
        Around {
            outer: s[..axis].iter().product(),
            n: s[axis],
            inner: s[axis + 1..].iter().product(),
        }
    }
}

/// The strided kernels. Sizes are the caller's to check (the typed ops on
/// [`crate::Tensor`] do); the defaults run [`super::strided_host`] through host memory.
///
/// ```
/// use shapeflow_core::backend::{Device, Strided, UnaryOp};
/// use shapeflow_cpu::Cpu;
/// let x = Cpu::default().upload(&[1.0, 4.0]);
/// let mut y = Cpu::zeros_like(&x, 2);
/// Cpu::unary(UnaryOp::Sqrt, &x, &mut y);
/// assert_eq!(Cpu::to_host(&y), vec![1.0, 2.0]);
/// ```
pub trait Strided: Device {
    /// `y = f(x)` elementwise over contiguous buffers of one length.
    #[track_caller]
    fn unary(op: UnaryOp, x: &Self::Storage, y: &mut Self::Storage) {
        contract!("Strided::unary", op; y => exactly(Self::len(x)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::unary_unchecked(op, x, y) }
    }

    /// The kernel behind [`Strided::unary`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Strided::unary`] checks.
    unsafe fn unary_unchecked(op: UnaryOp, x: &Self::Storage, y: &mut Self::Storage) {
        let x = Self::to_host(x);
        let mut out = vec![Self::Elem::default(); x.len()];
        host::unary(op, &x, &mut out);
        *y = Self::upload_like(y, &out);
    }

    /// `dx = dy · f'(x)`, with `y = f(x)` from the forward pass.
    #[track_caller]
    fn unary_grad(
        op: UnaryOp,
        x: &Self::Storage,
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
    ) {
        contract!("Strided::unary_grad", op; y => exactly(Self::len(x)), dy => exactly(Self::len(x)), dx => exactly(Self::len(x)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::unary_grad_unchecked(op, x, y, dy, dx) }
    }

    /// The kernel behind [`Strided::unary_grad`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Strided::unary_grad`] checks.
    unsafe fn unary_grad_unchecked(
        op: UnaryOp,
        x: &Self::Storage,
        y: &Self::Storage,
        dy: &Self::Storage,
        dx: &mut Self::Storage,
    ) {
        let (x, y, dy) = (Self::to_host(x), Self::to_host(y), Self::to_host(dy));
        let mut out = vec![Self::Elem::default(); x.len()];
        host::unary_grad(op, &x, &y, &dy, &mut out);
        *dx = Self::upload_like(dx, &out);
    }

    /// `out[i] = op(a[va(i)], b[vb(i)])` over every index `i` of `dims`; `out` is contiguous.
    #[track_caller]
    fn binary(
        op: BinaryOp,
        a: (&Self::Storage, View),
        b: (&Self::Storage, View),
        out: &mut Self::Storage,
        dims: &Dims,
    ) {
        contract!("Strided::binary", dims; a.0 => at_least(span(&a.1, dims)), b.0 => at_least(span(&b.1, dims)), out => at_least(count(dims.as_slice())));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::binary_unchecked(op, a, b, out, dims) }
    }

    /// The kernel behind [`Strided::binary`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Strided::binary`] checks.
    unsafe fn binary_unchecked(
        op: BinaryOp,
        a: (&Self::Storage, View),
        b: (&Self::Storage, View),
        out: &mut Self::Storage,
        dims: &Dims,
    ) {
        let (ah, bh) = (Self::to_host(a.0), Self::to_host(b.0));
        let mut o = vec![Self::Elem::default(); dims.numel()];
        host::binary(op, (&ah, a.1), (&bh, b.1), &mut o, dims);
        *out = Self::upload_like(out, &o);
    }

    /// `out[i] = if mask[i] != 0 { a[i] } else { b[i] }`, each operand through its view.
    #[track_caller]
    fn select(
        mask: (&Self::Storage, View),
        a: (&Self::Storage, View),
        b: (&Self::Storage, View),
        out: &mut Self::Storage,
        dims: &Dims,
    ) {
        contract!("Strided::select", dims; mask.0 => at_least(span(&mask.1, dims)), a.0 => at_least(span(&a.1, dims)), b.0 => at_least(span(&b.1, dims)), out => at_least(count(dims.as_slice())));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::select_unchecked(mask, a, b, out, dims) }
    }

    /// The kernel behind [`Strided::select`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Strided::select`] checks.
    unsafe fn select_unchecked(
        mask: (&Self::Storage, View),
        a: (&Self::Storage, View),
        b: (&Self::Storage, View),
        out: &mut Self::Storage,
        dims: &Dims,
    ) {
        let (mh, ah, bh) = (Self::to_host(mask.0), Self::to_host(a.0), Self::to_host(b.0));
        let mut o = vec![Self::Elem::default(); dims.numel()];
        host::select((&mh, mask.1), (&ah, a.1), (&bh, b.1), &mut o, dims);
        *out = Self::upload_like(out, &o);
    }

    /// Reduces `x`, viewed as `[outer, n, inner]`, along `n` into `out` (`[outer, inner]`).
    #[track_caller]
    fn reduce(op: ReduceOp, x: &Self::Storage, around: Around, out: &mut Self::Storage) {
        contract!("Strided::reduce", around; x => at_least(count(&[around.outer, around.n, around.inner])), out => at_least(count(&[around.outer, around.inner])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::reduce_unchecked(op, x, around, out) }
    }

    /// The kernel behind [`Strided::reduce`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Strided::reduce`] checks.
    unsafe fn reduce_unchecked(
        op: ReduceOp,
        x: &Self::Storage,
        around: Around,
        out: &mut Self::Storage,
    ) {
        let xh = Self::to_host(x);
        let mut o = vec![Self::Elem::default(); around.outer * around.inner];
        host::reduce(op, &xh, around, &mut o);
        *out = Self::upload_like(out, &o);
    }

    /// Copies every index of `dims` from `src` through `vs` to `dst` through `vd`; elements of
    /// `dst` outside that view keep their values.
    #[track_caller]
    fn copy_strided(src: &Self::Storage, vs: View, dst: &mut Self::Storage, vd: View, dims: &Dims) {
        contract!("Strided::copy_strided", dims; src => at_least(span(&vs, dims)), dst => at_least(span(&vd, dims)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::copy_strided_unchecked(src, vs, dst, vd, dims) }
    }

    /// The kernel behind [`Strided::copy_strided`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Strided::copy_strided`] checks.
    unsafe fn copy_strided_unchecked(
        src: &Self::Storage,
        vs: View,
        dst: &mut Self::Storage,
        vd: View,
        dims: &Dims,
    ) {
        let sh = Self::to_host(src);
        let mut dh = Self::to_host(dst);
        host::copy_strided(&sh, vs, &mut dh, vd, dims);
        *dst = Self::upload_like(dst, &dh);
    }

    /// `out[o, j, i] = x[o, idx[(o, j, i)], i]` for `x` around its axis and `out` of
    /// `[outer, k, inner]`; `idx` holds `outer·k·inner` indices below `around.n`.
    #[track_caller]
    fn gather(x: &Self::Storage, around: Around, idx: &[usize], k: usize, out: &mut Self::Storage) {
        let picked = count(&[around.outer, k, around.inner]);
        check_indices("Strided::gather", "idx", idx, picked.unwrap_or(usize::MAX), around.n, false);
        contract!("Strided::gather", around; x => at_least(count(&[around.outer, around.n, around.inner])), out => at_least(picked));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::gather_unchecked(x, around, idx, k, out) }
    }

    /// The kernel behind [`Strided::gather`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Strided::gather`] checks.
    unsafe fn gather_unchecked(
        x: &Self::Storage,
        around: Around,
        idx: &[usize],
        k: usize,
        out: &mut Self::Storage,
    ) {
        let xh = Self::to_host(x);
        let mut o = vec![Self::Elem::default(); around.outer * k * around.inner];
        host::gather(&xh, around, idx, k, &mut o);
        *out = Self::upload_like(out, &o);
    }

    /// The adjoint of [`Strided::gather`]: `dst[o, idx[(o, j, i)], i] += src[o, j, i]`.
    #[track_caller]
    fn scatter_add(
        src: &Self::Storage,
        around: Around,
        idx: &[usize],
        k: usize,
        dst: &mut Self::Storage,
    ) {
        let picked = count(&[around.outer, k, around.inner]);
        check_indices(
            "Strided::scatter_add",
            "idx",
            idx,
            picked.unwrap_or(usize::MAX),
            around.n,
            false,
        );
        contract!("Strided::scatter_add", around; src => at_least(picked), dst => at_least(count(&[around.outer, around.n, around.inner])));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::scatter_add_unchecked(src, around, idx, k, dst) }
    }

    /// The kernel behind [`Strided::scatter_add`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Strided::scatter_add`] checks.
    unsafe fn scatter_add_unchecked(
        src: &Self::Storage,
        around: Around,
        idx: &[usize],
        k: usize,
        dst: &mut Self::Storage,
    ) {
        let sh = Self::to_host(src);
        let mut dh = Self::to_host(dst);
        host::scatter_add(&sh, around, idx, k, &mut dh);
        *dst = Self::upload_like(dst, &dh);
    }
}
