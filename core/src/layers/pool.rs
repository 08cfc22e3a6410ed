//! `MaxPool2d`, `AvgPool2d` (kernel `K`, stride `S` defaulting to `K`, padding `P`) and
//! `GlobalAvgPool2d`.

use std::marker::PhantomData;

use typenum::U1;

use crate::backend::{Backend, Window2d};
use crate::dim::{Const, Dim, StaticDim};
use crate::dim_arith::ConvOut;
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layer_to::{LayerTo, Window2, layer_via_layer_to};
use crate::rng::Rng;
use crate::shape::Dims;
use crate::tensor::Tensor;

/// Batch and channels of a `[n, c, h, w]` tensor (its rank is the type's).
fn batch_channels(d: &[usize]) -> (usize, usize) {
    (d.first().copied().unwrap_or(0), d.get(1).copied().unwrap_or(0))
}

/// The window of global pooling over `[n, c, h, w]`: the whole plane, which always fits.
fn whole_plane(n: usize, c: usize, h: usize, w: usize) -> Window2d {
    Window2d { n, c, h, w, kh: h, kw: w, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, oh: 1, ow: 1 }
}

fn out_dims(g: &Window2d) -> Dims {
    Dims::new(&[g.n, g.c, g.oh, g.ow]).unwrap_or_default()
}

fn in_dims(g: &Window2d) -> Dims {
    Dims::new(&[g.n, g.c, g.h, g.w]).unwrap_or_default()
}

fn check_grad<B: Backend>(dy: &B::Storage, g: &Window2d, what: &str) -> Result<()> {
    let want = g.n * g.c * g.oh * g.ow;
    if B::len(dy) != want {
        return Err(Error::Shape(format!(
            "{what} backward: the output gradient has {} elements but the forward pass produced {want}",
            B::len(dy)
        )));
    }
    Ok(())
}

macro_rules! zst_layer {
    ($name:ident [$($p:ident),*]) => {
        impl<$($p),*> Clone for $name<$($p),*> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<$($p),*> Copy for $name<$($p),*> {}
        impl<$($p),*> Default for $name<$($p),*> {
            fn default() -> Self {
                $name(PhantomData)
            }
        }
        impl<$($p),*> std::fmt::Debug for $name<$($p),*> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($name))
            }
        }
        impl<Bk: Backend, $($p),*> Init<Bk> for $name<$($p),*> {
            fn init(_: &Bk, _: &mut Rng) -> Self {
                Self::default()
            }
        }
        impl<Bk: Backend, $($p),*> crate::Module<Bk> for $name<$($p),*> {
            fn visit_params(&self, _: &mut String, _: &mut crate::module::VisitFn<'_, Bk>) {}
            fn visit_params_mut(&mut self, _: &mut String, _: &mut crate::module::VisitMutFn<'_, Bk>) {}
            fn visit_params_with_grads(&mut self, _: &Self, _: &mut String, _: &mut crate::module::VisitGradsFn<'_, Bk>) {}
        }
    };
}

/// Max pooling over `K × K` windows with stride `S` (default `K`) and padding `P` (default 0);
/// padding never wins the maximum.
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor, layers::MaxPool2d};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U0, U1, U2, U4};
/// let x = Tensor::<(Dyn, U1, U4, U4), Cpu>::from_vec(&Cpu::default(), &[1, 1, 4, 4], (0..16).map(|v| v as f32).collect()).unwrap();
/// assert_eq!(MaxPool2d::<U2, U2, U0>::default().forward(&x).to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
/// ```
pub struct MaxPool2d<K, S = K, P = Const<0>>(PhantomData<fn() -> (K, S, P)>);
zst_layer!(MaxPool2d[K, S, P]);

/// What max pooling keeps for backward: the argmax of every window.
#[derive(Clone, Debug)]
pub struct MaxPoolCache<B: Backend> {
    argmax: B::Storage,
    geom: Window2d,
}

impl<N, C, H, W, K, S, P, OH, OW, B> LayerTo<(N, C, H, W), (N, C, OH, OW), B> for MaxPool2d<K, S, P>
where
    N: Dim,
    C: Dim,
    K: StaticDim,
    S: StaticDim,
    P: StaticDim,
    H: StaticDim,
    W: StaticDim,
    OH: StaticDim,
    OW: StaticDim,
    B: Backend,
{
    type Cache = MaxPoolCache<B>;

    fn forward_to(&self, x: &Tensor<(N, C, H, W), B>) -> Tensor<(N, C, OH, OW), B> {
        { *self }.forward_train_to(x).0
    }

    fn forward_train_to(
        &mut self,
        x: &Tensor<(N, C, H, W), B>,
    ) -> (Tensor<(N, C, OH, OW), B>, MaxPoolCache<B>) {
        let () = Window2::<H, W, K, S, P, Const<1>, OH, OW>::FITS;
        let (n, c) = batch_channels(x.dims());
        let g = Window2::<H, W, K, S, P, Const<1>, OH, OW>::geometry(n, c);
        let len = g.n * g.c * g.oh * g.ow;
        let mut y = B::scratch_like(x.storage(), len);
        let mut argmax = B::scratch_like(x.storage(), len);
        B::max_pool2d(x.storage(), &mut y, &mut argmax, g);
        (Tensor::from_parts(y, out_dims(&g)), MaxPoolCache { argmax, geom: g })
    }

    fn backward_to(
        &self,
        cache: &MaxPoolCache<B>,
        dy: &Tensor<(N, C, OH, OW), B>,
    ) -> Result<(Tensor<(N, C, H, W), B>, Self)> {
        let g = cache.geom;
        check_grad::<B>(dy.storage(), &g, "MaxPool2d")?;
        let mut dx = B::scratch_like(dy.storage(), g.n * g.c * g.h * g.w);
        B::max_pool2d_backward(dy.storage(), &cache.argmax, &mut dx, g);
        Ok((Tensor::from_parts(dx, in_dims(&g)), *self))
    }
}

/// The `Layer` impls of the pools for typenum dimensions: output sizes by [`ConvOut`].
macro_rules! pool_layer {
    ($name:ident, $cache:ty) => {
        impl<N, C, H, W, K, S, P, B> Layer<(N, C, H, W), B> for $name<K, S, P>
        where
            N: Dim,
            C: Dim,
            K: StaticDim,
            S: StaticDim,
            P: StaticDim,
            H: ConvOut<K, S, P, U1>,
            W: ConvOut<K, S, P, U1>,
            B: Backend,
        {
            type Output = (N, C, H::Output, W::Output);
            layer_via_layer_to!((N, C, H, W), $cache);
        }
    };
}
pool_layer!(MaxPool2d, MaxPoolCache<B>);
pool_layer!(AvgPool2d, Window2d);

/// Average pooling over `K × K` windows with stride `S` (default `K`) and padding `P`
/// (default 0), dividing by `K²` (PyTorch's default `count_include_pad=True`).
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor, layers::AvgPool2d};
/// use shapeflow_cpu::Cpu;
/// use shapeflow_core::{Const, LayerTo};
/// type X = (Dyn, Const<1>, Const<2>, Const<2>);
/// let x = Tensor::<X, Cpu>::from_vec(&Cpu::default(), &[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 6.0]).unwrap();
/// let y: Tensor<(Dyn, Const<1>, Const<1>, Const<1>), Cpu> = AvgPool2d::<Const<2>>::default().forward_to(&x);
/// assert_eq!(y.to_vec(), vec![3.0]);
/// ```
pub struct AvgPool2d<K, S = K, P = Const<0>>(PhantomData<fn() -> (K, S, P)>);
zst_layer!(AvgPool2d[K, S, P]);

impl<N, C, H, W, K, S, P, OH, OW, B> LayerTo<(N, C, H, W), (N, C, OH, OW), B> for AvgPool2d<K, S, P>
where
    N: Dim,
    C: Dim,
    K: StaticDim,
    S: StaticDim,
    P: StaticDim,
    H: StaticDim,
    W: StaticDim,
    OH: StaticDim,
    OW: StaticDim,
    B: Backend,
{
    type Cache = Window2d;

    fn forward_to(&self, x: &Tensor<(N, C, H, W), B>) -> Tensor<(N, C, OH, OW), B> {
        { *self }.forward_train_to(x).0
    }

    fn forward_train_to(
        &mut self,
        x: &Tensor<(N, C, H, W), B>,
    ) -> (Tensor<(N, C, OH, OW), B>, Window2d) {
        let () = Window2::<H, W, K, S, P, Const<1>, OH, OW>::FITS;
        let (n, c) = batch_channels(x.dims());
        let g = Window2::<H, W, K, S, P, Const<1>, OH, OW>::geometry(n, c);
        let mut y = B::scratch_like(x.storage(), g.n * g.c * g.oh * g.ow);
        B::avg_pool2d(x.storage(), &mut y, g);
        (Tensor::from_parts(y, out_dims(&g)), g)
    }

    fn backward_to(
        &self,
        g: &Window2d,
        dy: &Tensor<(N, C, OH, OW), B>,
    ) -> Result<(Tensor<(N, C, H, W), B>, Self)> {
        check_grad::<B>(dy.storage(), g, "AvgPool2d")?;
        let mut dx = B::scratch_like(dy.storage(), g.n * g.c * g.h * g.w);
        B::avg_pool2d_backward(dy.storage(), &mut dx, *g);
        Ok((Tensor::from_parts(dx, in_dims(g)), *self))
    }
}

/// Global average pooling: `[batch, c, h, w] → [batch, c]`, the mean of each channel plane.
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor, layers::GlobalAvgPool2d};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U1, U2};
/// let x = Tensor::<(Dyn, U1, U2, U2), Cpu>::from_vec(&Cpu::default(), &[1, 1, 2, 2], vec![1.0, 2.0, 3.0, 6.0]).unwrap();
/// assert_eq!(GlobalAvgPool2d::default().forward(&x).to_vec(), vec![3.0]);
/// ```
pub struct GlobalAvgPool2d(PhantomData<fn()>);
zst_layer!(GlobalAvgPool2d[]);

impl<N: Dim, C: Dim, H: StaticDim, W: StaticDim, B: Backend> Layer<(N, C, H, W), B>
    for GlobalAvgPool2d
{
    type Output = (N, C);
    type Cache = Window2d;

    fn forward(&self, x: &Tensor<(N, C, H, W), B>) -> Tensor<(N, C), B> {
        Layer::<(N, C, H, W), B>::forward_train(&mut { *self }, x).0
    }

    fn forward_train(&mut self, x: &Tensor<(N, C, H, W), B>) -> (Tensor<(N, C), B>, Window2d) {
        let (n, c) = batch_channels(x.dims());
        let g = whole_plane(n, c, H::N, W::N);
        let mut y = B::scratch_like(x.storage(), g.n * g.c);
        B::avg_pool2d(x.storage(), &mut y, g);
        (Tensor::from_parts(y, Dims::new(&[g.n, g.c]).unwrap_or_default()), g)
    }

    fn backward(
        &self,
        g: &Window2d,
        dy: &Tensor<(N, C), B>,
    ) -> Result<(Tensor<(N, C, H, W), B>, Self)> {
        check_grad::<B>(dy.storage(), g, "GlobalAvgPool2d")?;
        let mut dx = B::scratch_like(dy.storage(), g.n * g.c * g.h * g.w);
        B::avg_pool2d_backward(dy.storage(), &mut dx, *g);
        Ok((Tensor::from_parts(dx, in_dims(g)), *self))
    }
}
