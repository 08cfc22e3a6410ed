//! `Narrow<START, LENGTH>`: `LENGTH` entries of the first per-sample axis from `START` (channels of
//! `[c, h, w]`, features of `[f]`), as PyTorch's `x.narrow(1, start, length)`; composed from the
//! row split and concatenation kernels.

use std::marker::PhantomData;

use crate::backend::{Backend, Joined};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layer_to::fail_if;
use crate::rng::Rng;
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;

/// Entries `START .. START + LENGTH` of the first axis after the batch; the window must lie
/// inside the input (checked when the code is built).
///
/// ```
/// use shapeflow_core::{Const, Dyn, Layer, Tensor, layers::Narrow};
/// use shapeflow_cpu::Cpu;
/// let x = Tensor::<(Dyn, Const<4>), Cpu>::from_batch(&Cpu::default(), 1, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
/// let y = Narrow::<Const<1>, Const<2>>::default().forward(&x);
/// assert_eq!(y.to_vec(), vec![2.0, 3.0]);
/// ```
pub struct Narrow<START, LENGTH>(PhantomData<fn() -> (START, LENGTH)>);

impl<S, L> Clone for Narrow<S, L> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, L> Copy for Narrow<S, L> {}
impl<S, L> Default for Narrow<S, L> {
    fn default() -> Self {
        Narrow(PhantomData)
    }
}
impl<S: StaticDim, L: StaticDim> std::fmt::Debug for Narrow<S, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Narrow(start {}, length {})", S::N, L::N)
    }
}
impl<S, L, B: Backend> crate::Module<B> for Narrow<S, L> {
    fn visit_params(&self, _: &mut String, _: &mut crate::module::VisitFn<'_, B>) {}
    fn visit_params_mut(&mut self, _: &mut String, _: &mut crate::module::VisitMutFn<'_, B>) {}
    fn visit_params_with_grads(
        &mut self,
        _: &Self,
        _: &mut String,
        _: &mut crate::module::VisitGradsFn<'_, B>,
    ) {
    }
}

impl<S, L, B: Backend> Init<B> for Narrow<S, L> {
    fn init(_: &B, _: &mut Rng) -> Self {
        Narrow(PhantomData)
    }
}

/// The build-time check that `START + LENGTH ≤ C`.
struct Inside<S, L, C>(PhantomData<fn() -> (S, L, C)>);
impl<S: StaticDim, L: StaticDim, C: StaticDim> Inside<S, L, C> {
    const FITS: () =
        fail_if(S::N + L::N > C::N, "the narrowed window runs past the end of its input's axis");
}

/// What `Narrow` keeps for backward: the geometry of the two splits.
#[derive(Clone, Copy, Debug)]
pub struct NarrowCache {
    /// Rows, the values before the window, in it, and after it (per row).
    parts: [usize; 4],
}

fn resized(d: &[usize], first: usize) -> Result<Dims> {
    let mut sizes = d.to_vec();
    if let Some(c) = sizes.get_mut(1) {
        *c = first;
    }
    Dims::new(&sizes)
}

/// The window of each row: split off what comes before it, then what comes after.
fn narrow<X: Shape, Y: Shape, B: Backend>(
    x: &Tensor<X, B>,
    start: usize,
    len: usize,
    c: usize,
) -> (Tensor<Y, B>, NarrowCache) {
    let rows = x.batch();
    let inner = if rows == 0 || c == 0 { 0 } else { x.len() / rows / c };
    let [before, inside, after] = [start * inner, len * inner, (c - start - len) * inner];
    let mut head = B::scratch_like(x.storage(), rows * before);
    let mut rest = B::scratch_like(x.storage(), rows * (inside + after));
    B::split_rows(
        x.storage(),
        &mut head,
        &mut rest,
        Joined { rows, left: before, right: inside + after },
    );
    let mut y = x.scratch_on::<Y>(resized(x.dims(), len).unwrap_or_default());
    let mut tail = B::scratch_like(x.storage(), rows * after);
    B::split_rows(&rest, y.storage_mut(), &mut tail, Joined { rows, left: inside, right: after });
    (y, NarrowCache { parts: [rows, before, inside, after] })
}

/// The gradient: `dy` in the window, zeros around it.
fn widen<X: Shape, Y: Shape, B: Backend>(
    cache: &NarrowCache,
    dy: &Tensor<Y, B>,
    c: usize,
) -> Result<Tensor<X, B>> {
    let [rows, before, inside, after] = cache.parts;
    if dy.len() != rows * inside {
        return Err(Error::Shape(format!(
            "Narrow backward: the output gradient has {} elements but the forward pass produced {}",
            dy.len(),
            rows * inside
        )));
    }
    let mut rest = B::scratch_like(dy.storage(), rows * (inside + after));
    let zeros_after = B::zeros_like(dy.storage(), rows * after);
    B::concat_rows(
        dy.storage(),
        &zeros_after,
        &mut rest,
        Joined { rows, left: inside, right: after },
    );
    let zeros_before = B::zeros_like(dy.storage(), rows * before);
    let mut dx = dy.scratch_on::<X>(resized(dy.dims(), c)?);
    B::concat_rows(
        &zeros_before,
        &rest,
        dx.storage_mut(),
        Joined { rows, left: before, right: inside + after },
    );
    Ok(dx)
}

/// `Layer` at each rank: `(N, C, …) → (N, LENGTH, …)`.
macro_rules! narrow_rank {
    ($($axis:ident),*) => {
        impl<N: Dim, C: StaticDim, $($axis: Dim,)* S: StaticDim, L: StaticDim, B: Backend>
            Layer<(N, C, $($axis,)*), B> for Narrow<S, L>
        {
            type Output = (N, L, $($axis,)*);
            type Cache = NarrowCache;
            fn forward(&self, x: &Tensor<(N, C, $($axis,)*), B>) -> Tensor<(N, L, $($axis,)*), B> {
                let () = Inside::<S, L, C>::FITS;
                narrow(x, S::N, L::N, C::N).0
            }
            fn forward_train(
                &mut self,
                x: &Tensor<(N, C, $($axis,)*), B>,
            ) -> (Tensor<(N, L, $($axis,)*), B>, NarrowCache) {
                let () = Inside::<S, L, C>::FITS;
                narrow(x, S::N, L::N, C::N)
            }
            fn backward(
                &self,
                cache: &NarrowCache,
                dy: &Tensor<(N, L, $($axis,)*), B>,
            ) -> Result<(Tensor<(N, C, $($axis,)*), B>, Self)> {
                Ok((widen(cache, dy, C::N)?, *self))
            }
        }
    };
}
narrow_rank!();
narrow_rank!(A);
narrow_rank!(H, W);
