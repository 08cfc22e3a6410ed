//! `Conv2d` and `Conv1d`: cross-correlation with bias, as PyTorch's `nn.Conv2d` / `nn.Conv1d`,
//! computed by the backend's [`Conv`](crate::backend::Conv) family (im2col and matrix products).

use std::marker::PhantomData;

use crate::backend::{Backend, Channels, ConvGeom, ConvGrads, Window2d};
use crate::dim::{Const, Dim, StaticDim};
use crate::dim_arith::ConvOut;
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layer_to::{LayerTo, Window, Window2, layer_via_layer_to};
use crate::module::Module;
use crate::rng::Rng;
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;

/// What a convolution keeps for its backward pass: its input and the geometry (the backend
/// unfolds the input again in backward, so the cache is the input's size, not `k·k` times it).
#[derive(Clone, Debug)]
pub struct ConvCache<B: Backend> {
    input: B::Storage,
    geom: Window2d,
}

/// `y = W ⋆ x + b` for `x` of `[n, c, h, w]`: [`Conv::conv2d`], then the bias per channel.
fn conv_forward<B: Backend>(
    x: &B::Storage,
    weight: &B::Storage,
    bias: Option<&B::Storage>,
    g: Window2d,
    out_channels: usize,
) -> B::Storage {
    let per = g.col_cols();
    let mut y = B::scratch_like(x, g.n * out_channels * per);
    B::conv2d(x, weight, &mut y, ConvGeom { window: g, out_channels });
    if let Some(bias) = bias {
        B::add_channel_bias(
            &mut y,
            bias,
            Channels { outer: g.n, channels: out_channels, inner: per },
        );
    }
    y
}

/// Returns `(dweight, dbias, dx)`: the bias sums when the layer has a bias, the input gradient
/// when `with_input`.
fn conv_grads<B: Backend>(
    cache: &ConvCache<B>,
    weight: &B::Storage,
    dy: &B::Storage,
    out_channels: usize,
    with_bias: bool,
    with_input: bool,
) -> Result<(B::Storage, Option<B::Storage>, Option<B::Storage>)> {
    let g = cache.geom;
    let (rows, per) = (g.col_rows(), g.col_cols());
    if B::len(dy) != g.n * out_channels * per {
        return Err(Error::Shape(format!(
            "convolution backward: the output gradient has {} elements but the forward pass produced {}",
            B::len(dy),
            g.n * out_channels * per
        )));
    }
    // A layer without bias gets no bias sums.
    let dbias = with_bias.then(|| {
        let mut db = B::scratch_like(dy, out_channels);
        B::sum_channels(dy, &mut db, Channels { outer: g.n, channels: out_channels, inner: per });
        db
    });
    let mut dweight = B::scratch_like(dy, out_channels * rows);
    let mut dx = with_input.then(|| B::scratch_like(dy, g.n * g.c * g.h * g.w));
    let grads = ConvGrads { dweight: &mut dweight, dx: dx.as_mut() };
    B::conv2d_backward(&cache.input, weight, dy, grads, ConvGeom { window: g, out_channels });
    Ok((dweight, dbias, dx))
}

/// Wraps a buffer in a tensor of shape `S` with the given sizes (sizes computed from types).
fn tensor<S: Shape, B: Backend>(storage: B::Storage, sizes: &[usize]) -> Tensor<S, B> {
    Tensor::from_parts(storage, Dims::new(sizes).unwrap_or_default())
}

macro_rules! conv_module {
    (
        $name:ident,
        weight: [$($wd:expr),+],
        fan_in: $fan:expr,
        output: |$go:ident| [$($od:expr),+],
        input: |$gi:ident| [$($id:expr),+]
    ) => {
        impl<I: StaticDim, O: StaticDim, K: StaticDim, B: Backend, S: StaticDim, P: StaticDim, D: StaticDim>
            Init<B> for $name<I, O, K, B, S, P, D>
        {
            fn init(dev: &B, rng: &mut Rng) -> Self {
                let bound = 1.0 / (($fan) as f64).sqrt();
                $name {
                    weight: Tensor::uniform_static(dev, -bound, bound, rng),
                    bias: Some(Tensor::uniform_static(dev, -bound, bound, rng)),
                    _geometry: PhantomData,
                }
            }
        }

        impl<I: StaticDim, O: StaticDim, K: StaticDim, B: Backend, S: StaticDim, P: StaticDim, D: StaticDim>
            $name<I, O, K, B, S, P, D>
        {
            /// The same layer without its bias (`bias = false` in `model!`).
            ///
            /// ```
            /// use shapeflow_core::{Const, Init, Module, Rng, layers::Conv2d};
            /// use shapeflow_cpu::Cpu;
            /// let c = Conv2d::<Const<1>, Const<2>, Const<3>, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
            /// assert_eq!(c.without_bias().param_names(), ["weight"]);
            /// ```
            pub fn without_bias(mut self) -> Self {
                self.bias = None;
                self
            }

            /// The forward pass over `x` with geometry `g`, proved to fit when the code was
            /// built (`Window2::geometry`, `Window::geometry`).
            fn forward_uncached<X: Shape, Y: Shape>(&self, x: &Tensor<X, B>, g: Window2d) -> Tensor<Y, B> {
                let y = conv_forward::<B>(x.storage(), self.weight.storage(), self.bias.as_ref().map(|b| b.storage()), g, O::N);
                let $go = g;
                tensor(y, &[$($od),+])
            }

            fn forward_cached<X: Shape, Y: Shape>(&self, x: &Tensor<X, B>, g: Window2d) -> (Tensor<Y, B>, ConvCache<B>) {
                let y = self.forward_uncached(x, g);
                (y, ConvCache { input: x.storage().clone(), geom: g })
            }

            fn backward_cached<X: Shape>(&self, cache: &ConvCache<B>, dy: &B::Storage) -> Result<(Tensor<X, B>, Self)> {
                let (grads, dx) = self.grads(cache, dy, true)?;
                let $gi = cache.geom;
                let Some(dx) = dx else {
                    return Err(Error::Shape("convolution backward: no input gradient".into()));
                };
                Ok((tensor(dx, &[$($id),+]), grads))
            }

            /// The weight and bias gradients, and the input gradient when `with_input`.
            fn grads(&self, cache: &ConvCache<B>, dy: &B::Storage, with_input: bool) -> Result<(Self, Option<B::Storage>)> {
                let (dw, db, dx) = conv_grads(cache, self.weight.storage(), dy, O::N, self.bias.is_some(), with_input)?;
                let grads = $name {
                    weight: tensor(dw, &[$($wd),+]),
                    bias: db.map(|db| tensor(db, &[O::N])),
                    _geometry: PhantomData,
                };
                Ok((grads, dx))
            }
        }

        impl<
            I: StaticDim,
            O: StaticDim,
            K: StaticDim,
            B: Backend,
            S: StaticDim,
            P: StaticDim,
            D: StaticDim,
        > Module<B> for $name<I, O, K, B, S, P, D>
        {
            crate::visit_param_fields!(weight, bias);
        }

        impl<
            I: StaticDim,
            O: StaticDim,
            K: StaticDim,
            B: Backend,
            S: StaticDim,
            P: StaticDim,
            D: StaticDim,
        > Clone for $name<I, O, K, B, S, P, D>
        {
            fn clone(&self) -> Self {
                $name {
                    weight: self.weight.clone(),
                    bias: self.bias.clone(),
                    _geometry: PhantomData,
                }
            }
        }

        impl<
            I: StaticDim,
            O: StaticDim,
            K: StaticDim,
            B: Backend,
            S: StaticDim,
            P: StaticDim,
            D: StaticDim,
        > std::fmt::Debug for $name<I, O, K, B, S, P, D>
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "{}({} -> {}, kernel {}, stride {}, padding {}, dilation {})",
                    stringify!($name),
                    I::N,
                    O::N,
                    K::N,
                    S::N,
                    P::N,
                    D::N
                )
            }
        }
    };
}

/// 2-D convolution from `I` to `O` channels with a `K × K` kernel, stride `S`, zero padding `P`
/// and dilation `D` (defaults 1, 0, 1), with bias. Weight `[O, I, K, K]` as in PyTorch,
/// initialised like `nn.Conv2d` (uniform on `±1/√(I·K·K)`).
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor, layers::Conv2d};
/// use shapeflow_cpu::Cpu;
/// use shapeflow_core::{Const, LayerTo};
/// let dev = Cpu::default();
/// // `Const` sizes (what `model!` generates): the output shape is stated, checked when built.
/// let conv = Conv2d::<Const<1>, Const<6>, Const<3>, Cpu>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::zeros(&dev, &[2, 1, 28, 28]).unwrap();
/// let y: Tensor<(Dyn, Const<6>, Const<26>, Const<26>), Cpu> = conv.forward_to(&x);
/// assert_eq!(y.dims(), &[2, 6, 26, 26]);
/// // typenum sizes: the type system computes the output shape (stride, padding, dilation spelt out).
/// use typenum::{U0, U1, U3, U6, U28};
/// let conv = Conv2d::<U1, U6, U3, Cpu, U1, U0, U1>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, U1, U28, U28), Cpu>::zeros(&dev, &[2, 1, 28, 28]).unwrap();
/// let y = conv.forward(&x); // Tensor<(Dyn, U6, U26, U26), Cpu>
/// assert_eq!(y.dims(), &[2, 6, 26, 26]);
/// ```
pub struct Conv2d<I, O, K, B, S = Const<1>, P = Const<0>, D = Const<1>>
where
    I: StaticDim,
    O: StaticDim,
    K: StaticDim,
    B: Backend,
    S: StaticDim,
    P: StaticDim,
    D: StaticDim,
{
    /// Kernel weights, `[out, in, k, k]`.
    pub weight: Tensor<(O, I, K, K), B>,
    /// Bias, `[out]`; `None` without one (`bias = false`, PyTorch's `bias=None`).
    pub bias: Option<Tensor<(O,), B>>,
    _geometry: PhantomData<(S, P, D)>,
}
conv_module!(
    Conv2d,
    weight: [O::N, I::N, K::N, K::N],
    fan_in: I::N * K::N * K::N,
    output: |g| [g.n, O::N, g.oh, g.ow],
    input: |g| [g.n, g.c, g.h, g.w]
);

impl<N, I, O, K, B, S, P, D, H, W, OH, OW> LayerTo<(N, I, H, W), (N, O, OH, OW), B>
    for Conv2d<I, O, K, B, S, P, D>
where
    N: Dim,
    I: StaticDim,
    O: StaticDim,
    K: StaticDim,
    B: Backend,
    S: StaticDim,
    P: StaticDim,
    D: StaticDim,
    H: StaticDim,
    W: StaticDim,
    OH: StaticDim,
    OW: StaticDim,
{
    type Cache = ConvCache<B>;

    fn forward_to(&self, x: &Tensor<(N, I, H, W), B>) -> Tensor<(N, O, OH, OW), B> {
        let () = Window2::<H, W, K, S, P, D, OH, OW>::FITS;
        self.forward_uncached(x, Window2::<H, W, K, S, P, D, OH, OW>::geometry(x.batch(), I::N))
    }

    fn forward_train_to(
        &mut self,
        x: &Tensor<(N, I, H, W), B>,
    ) -> (Tensor<(N, O, OH, OW), B>, ConvCache<B>) {
        let () = Window2::<H, W, K, S, P, D, OH, OW>::FITS;
        self.forward_cached(x, Window2::<H, W, K, S, P, D, OH, OW>::geometry(x.batch(), I::N))
    }

    fn backward_to(
        &self,
        cache: &ConvCache<B>,
        dy: &Tensor<(N, O, OH, OW), B>,
    ) -> Result<(Tensor<(N, I, H, W), B>, Self)> {
        let () = Window2::<H, W, K, S, P, D, OH, OW>::FITS;
        self.backward_cached(cache, dy.storage())
    }

    fn backward_params_to(
        &self,
        cache: &ConvCache<B>,
        dy: &Tensor<(N, O, OH, OW), B>,
    ) -> Result<Self> {
        let () = Window2::<H, W, K, S, P, D, OH, OW>::FITS;
        self.grads(cache, dy.storage(), false).map(|(grads, _)| grads)
    }
}

/// Type-level sizes (typenum dimensions): the output shape is computed by [`ConvOut`].
impl<N, I, O, K, B, S, P, D, H, W> Layer<(N, I, H, W), B> for Conv2d<I, O, K, B, S, P, D>
where
    N: Dim,
    I: StaticDim,
    O: StaticDim,
    K: StaticDim,
    B: Backend,
    S: StaticDim,
    P: StaticDim,
    D: StaticDim,
    H: ConvOut<K, S, P, D>,
    W: ConvOut<K, S, P, D>,
{
    type Output = (N, O, H::Output, W::Output);
    layer_via_layer_to!((N, I, H, W), ConvCache<B>);
}

/// 1-D convolution over `[batch, channels, length]`, from `I` to `O` channels, kernel `K`,
/// stride `S`, padding `P`, dilation `D` (defaults 1, 0, 1), with bias. Weight `[O, I, K]`.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor, layers::Conv1d};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U0, U1, U2, U3, U4, U10};
/// let dev = Cpu::default();
/// let conv = Conv1d::<U2, U4, U3, Cpu, U1, U0, U1>::init(&dev, &mut Rng::new(0));
/// let x = Tensor::<(Dyn, U2, U10), Cpu>::zeros(&dev, &[5, 2, 10]).unwrap();
/// assert_eq!(conv.forward(&x).dims(), &[5, 4, 8]);
/// ```
pub struct Conv1d<I, O, K, B, S = Const<1>, P = Const<0>, D = Const<1>>
where
    I: StaticDim,
    O: StaticDim,
    K: StaticDim,
    B: Backend,
    S: StaticDim,
    P: StaticDim,
    D: StaticDim,
{
    /// Kernel weights, `[out, in, k]`.
    pub weight: Tensor<(O, I, K), B>,
    /// Bias, `[out]`; `None` without one (`bias = false`, PyTorch's `bias=None`).
    pub bias: Option<Tensor<(O,), B>>,
    _geometry: PhantomData<(S, P, D)>,
}
conv_module!(
    Conv1d,
    weight: [O::N, I::N, K::N],
    fan_in: I::N * K::N,
    output: |g| [g.n, O::N, g.ow],
    input: |g| [g.n, g.c, g.w]
);

impl<N, I, O, K, B, S, P, D, L, OL> LayerTo<(N, I, L), (N, O, OL), B>
    for Conv1d<I, O, K, B, S, P, D>
where
    N: Dim,
    I: StaticDim,
    O: StaticDim,
    K: StaticDim,
    B: Backend,
    S: StaticDim,
    P: StaticDim,
    D: StaticDim,
    L: StaticDim,
    OL: StaticDim,
{
    type Cache = ConvCache<B>;

    fn forward_to(&self, x: &Tensor<(N, I, L), B>) -> Tensor<(N, O, OL), B> {
        let () = Window::<L, K, S, P, D, OL>::FITS;
        self.forward_uncached(x, Window::<L, K, S, P, D, OL>::geometry(x.batch(), I::N))
    }

    fn forward_train_to(
        &mut self,
        x: &Tensor<(N, I, L), B>,
    ) -> (Tensor<(N, O, OL), B>, ConvCache<B>) {
        let () = Window::<L, K, S, P, D, OL>::FITS;
        self.forward_cached(x, Window::<L, K, S, P, D, OL>::geometry(x.batch(), I::N))
    }

    fn backward_to(
        &self,
        cache: &ConvCache<B>,
        dy: &Tensor<(N, O, OL), B>,
    ) -> Result<(Tensor<(N, I, L), B>, Self)> {
        let () = Window::<L, K, S, P, D, OL>::FITS;
        self.backward_cached(cache, dy.storage())
    }

    fn backward_params_to(&self, cache: &ConvCache<B>, dy: &Tensor<(N, O, OL), B>) -> Result<Self> {
        let () = Window::<L, K, S, P, D, OL>::FITS;
        self.grads(cache, dy.storage(), false).map(|(grads, _)| grads)
    }
}

/// Type-level sizes (typenum dimensions): the output length is computed by [`ConvOut`].
impl<N, I, O, K, B, S, P, D, L> Layer<(N, I, L), B> for Conv1d<I, O, K, B, S, P, D>
where
    N: Dim,
    I: StaticDim,
    O: StaticDim,
    K: StaticDim,
    B: Backend,
    S: StaticDim,
    P: StaticDim,
    D: StaticDim,
    L: ConvOut<K, S, P, D>,
{
    type Output = (N, O, L::Output);
    layer_via_layer_to!((N, I, L), ConvCache<B>);
}
