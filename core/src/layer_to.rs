//! [`LayerTo`]: a shape-changing layer (convolution, pooling, flatten) taking one shape to an
//! output shape *stated* in its type rather than computed by type-level arithmetic.
//!
//! `model!` computes every output size in decimal at expansion time (and reports a misfit as a
//! spanned error with both numbers), then calls these layers through `LayerTo` with the
//! [`Const`](crate::Const) dimensions it computed, so no model type ever holds a typenum number.
//! The stated sizes are checked once more when the code is built: a wrong statement fails to
//! compile (`evaluation panicked: Conv2d: the stated output size is not …`).

use std::marker::PhantomData;

use crate::backend::{Backend, Window2d};
use crate::dim::StaticDim;
use crate::error::Result;
use crate::module::Module;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A layer taking tensors of shape `X` to the stated shape `Y` on backend `B`; the same
/// forward/backward contract as [`Layer`](crate::Layer), whose impls for these layers delegate
/// here.
///
/// ```
/// use shapeflow_core::{Const, Dyn, Init, LayerTo, Rng, Tensor, layers::Conv2d};
/// use shapeflow_cpu::Cpu;
/// type X = (Dyn, Const<1>, Const<28>, Const<28>);
/// type Y = (Dyn, Const<6>, Const<24>, Const<24>);
/// let dev = Cpu::default();
/// let conv = Conv2d::<Const<1>, Const<6>, Const<5>, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<X, Cpu>::zeros(&dev, &[2, 1, 28, 28]).unwrap();
/// let y: Tensor<Y, Cpu> = conv.forward_to(&x);
/// assert_eq!(y.dims(), &[2, 6, 24, 24]);
/// ```
pub trait LayerTo<X: Shape, Y: Shape, B: Backend>: Module<B> + Sized {
    /// What the forward pass keeps for the backward pass.
    type Cache;

    /// Inference forward pass.
    fn forward_to(&self, x: &Tensor<X, B>) -> Tensor<Y, B>;

    /// Training forward pass, keeping what backward needs.
    fn forward_train_to(&mut self, x: &Tensor<X, B>) -> (Tensor<Y, B>, Self::Cache);

    /// From the output gradient, the input gradient and the parameter gradients.
    fn backward_to(&self, cache: &Self::Cache, dy: &Tensor<Y, B>) -> Result<(Tensor<X, B>, Self)>;

    /// The parameter gradients alone (see [`Layer::backward_params`](crate::Layer)).
    fn backward_params_to(&self, cache: &Self::Cache, dy: &Tensor<Y, B>) -> Result<Self> {
        self.backward_to(cache, dy).map(|(_, grads)| grads)
    }
}

/// The body of a `Layer<X, B>` impl for a layer whose `LayerTo<X, Self::Output, B>` impl does
/// the work (the typenum-sized impls of the convolutions and pools): every method delegates.
macro_rules! layer_via_layer_to {
    ($x:ty, $cache:ty) => {
        type Cache = $cache;

        fn forward(&self, x: &Tensor<$x, B>) -> Tensor<Self::Output, B> {
            LayerTo::<$x, Self::Output, B>::forward_to(self, x)
        }

        fn forward_train(&mut self, x: &Tensor<$x, B>) -> (Tensor<Self::Output, B>, $cache) {
            LayerTo::<$x, Self::Output, B>::forward_train_to(self, x)
        }

        fn backward(
            &self,
            cache: &$cache,
            dy: &Tensor<Self::Output, B>,
        ) -> Result<(Tensor<$x, B>, Self)> {
            LayerTo::<$x, Self::Output, B>::backward_to(self, cache, dy)
        }

        fn backward_params(&self, cache: &$cache, dy: &Tensor<Self::Output, B>) -> Result<Self> {
            LayerTo::<$x, Self::Output, B>::backward_params_to(self, cache, dy)
        }
    };
}
pub(crate) use layer_via_layer_to;

/// PyTorch's window rule along one dimension (the one in `shapeflow-rules`), `(h + 2p − d(k−1) − 1)/s + 1`, or `None` when the
/// dilated kernel is larger than the padded input (or the stride is 0).
///
/// ```
/// use shapeflow_core::layer_to::window_out;
/// assert_eq!(window_out(28, 5, 1, 0, 1), Some(24));
/// assert_eq!(window_out(7, 3, 2, 1, 1), Some(4));
/// assert_eq!(window_out(5, 7, 1, 0, 1), None);
/// ```
pub const fn window_out(h: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    shapeflow_rules::window_out(h, k, s, p, d)
}

/// Whether `out` is the window rule's size for `h` (a `const` helper for the build-time checks).
///
/// ```
/// use shapeflow_core::layer_to::window_is;
/// assert!(window_is(28, 5, 1, 0, 1, 24));
/// assert!(!window_is(28, 5, 1, 0, 1, 23));
/// ```
pub const fn window_is(h: usize, k: usize, s: usize, p: usize, d: usize, out: usize) -> bool {
    match window_out(h, k, s, p, d) {
        Some(o) => o == out,
        None => false,
    }
}

/// The build-time check of one stated window output: `Window::<H, K, S, P, D, O>::FITS` fails
/// to evaluate (so the code fails to build) unless `O` is the window rule's size for `H`.
///
/// ```
/// use shapeflow_core::Const;
/// use shapeflow_core::layer_to::Window;
/// let () = Window::<Const<28>, Const<5>, Const<1>, Const<0>, Const<1>, Const<24>>::FITS;
/// ```
pub struct Window<H, K, S, P, D, O>(PhantomData<fn() -> (H, K, S, P, D, O)>);

impl<H, K, S, P, D, O> Window<H, K, S, P, D, O>
where
    H: StaticDim,
    K: StaticDim,
    S: StaticDim,
    P: StaticDim,
    D: StaticDim,
    O: StaticDim,
{
    /// Evaluates only when the stated size `O` is right.
    pub const FITS: () = if !window_is(H::N, K::N, S::N, P::N, D::N, O::N) {
        fail(WINDOW_RULE)
    };

    /// The geometry of this 1-D window over `[n, c, H]`, as a 2-D window of height 1. Callers
    /// evaluate [`Self::FITS`] first (in the user's instantiation, so a failure points there),
    /// which proves the window fits: the geometry is total.
    pub(crate) fn geometry(n: usize, c: usize) -> Window2d {
        Window2d {
            n,
            c,
            h: 1,
            w: H::N,
            kh: 1,
            kw: K::N,
            sh: 1,
            sw: S::N,
            ph: 0,
            pw: P::N,
            dh: 1,
            dw: D::N,
            oh: 1,
            ow: O::N,
        }
    }
}

/// [`Window`] for both axes of a 2-D window at once (one check, so one error when it fails).
///
/// ```
/// use shapeflow_core::Const;
/// use shapeflow_core::layer_to::Window2;
/// type C<const N: usize> = Const<N>;
/// let () = Window2::<C<28>, C<20>, C<5>, C<1>, C<2>, C<1>, C<28>, C<20>>::FITS;
/// ```
pub struct Window2<H, W, K, S, P, D, OH, OW>(Marker<(H, W), (K, S, P, D), (OH, OW)>);

/// The type parameters of [`Window2`], grouped: input sizes, window, stated output sizes.
type Marker<I, G, O> = PhantomData<fn() -> (I, G, O)>;

impl<H, W, K, S, P, D, OH, OW> Window2<H, W, K, S, P, D, OH, OW>
where
    H: StaticDim,
    W: StaticDim,
    K: StaticDim,
    S: StaticDim,
    P: StaticDim,
    D: StaticDim,
    OH: StaticDim,
    OW: StaticDim,
{
    /// Evaluates only when the stated sizes `OH × OW` are right.
    pub const FITS: () = if !(window_is(H::N, K::N, S::N, P::N, D::N, OH::N)
        && window_is(W::N, K::N, S::N, P::N, D::N, OW::N))
    {
        fail(WINDOW_RULE)
    };

    /// The geometry of this window over `[n, c, H, W]`. Callers evaluate [`Self::FITS`] first
    /// (in the user's instantiation, so a failure points there), which proves the window fits:
    /// the geometry is total, and no impossible geometry reaches a kernel.
    pub(crate) fn geometry(n: usize, c: usize) -> Window2d {
        Window2d {
            n,
            c,
            h: H::N,
            w: W::N,
            kh: K::N,
            kw: K::N,
            sh: S::N,
            sw: S::N,
            ph: P::N,
            pw: P::N,
            dh: D::N,
            dw: D::N,
            oh: OH::N,
            ow: OW::N,
        }
    }
}

/// What a failed [`Window::FITS`] or [`Window2::FITS`] check says.
const WINDOW_RULE: &str = "the stated output size does not follow the window rule, or the window is larger than its padded input (see `window_out`)";

/// Fails a build-time check with `message`, reported at the caller's line (a `panic!` would be
/// reported inside `core` with a note on the macro, 4 lines more).
///
/// ```
/// const _: () = shapeflow_core::layer_to::fail_if(false, "never");
/// ```
#[track_caller]
pub const fn fail_if(failed: bool, message: &'static str) {
    if failed {
        fail(message)
    }
}

/// `Option::expect` (unlike `panic!`) is reported at its caller, without a macro note.
#[track_caller]
#[allow(clippy::unnecessary_literal_unwrap)]
const fn fail(message: &'static str) {
    None::<()>.expect(message)
}
