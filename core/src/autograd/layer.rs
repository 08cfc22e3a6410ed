//! Layers written as forward code: [`AutoLayer`] (a forward pass written with the op set) and
//! [`Autograd`], which makes one a [`Layer`] whose backward is autograd's — usable in `model!`
//! (`#[custom]`), `fit`, the optimizers and checkpoints like any built-in layer.

use super::{Gradients, no_grad};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::module::Module;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A parameter tensor as autograd sees it (visited by [`Module::visit_tensors_mut`]).
pub trait ParamTensor<B: Backend> {
    /// Makes the tensor a leaf that requires gradients.
    fn track(&mut self);
    /// Replaces the values by this tensor's gradient in `grads` (zeros when the backward did
    /// not reach it), untracked.
    fn take_grad(&mut self, grads: &Gradients<B>);
}

impl<S: Shape, B: Backend> ParamTensor<B> for Tensor<S, B> {
    fn track(&mut self) {
        *self = self.clone().requires_grad();
    }
    fn take_grad(&mut self, grads: &Gradients<B>) {
        *self = grads.get(self).unwrap_or_else(|| self.detach().zeros_like());
    }
}

/// Makes every parameter tensor of `module` a leaf that requires gradients (what
/// [`Autograd`] does to a copy of its layer before each training forward); an `Err` when the
/// module's `Module` impl does not visit its tensors ([`Module::visit_tensors_mut`]).
///
/// ```
/// use shapeflow_core::{Const, Module, Tensor, Backend, autograd::{requires_grad_params, module_grads}};
/// use shapeflow_cpu::Cpu64;
/// #[derive(Clone)]
/// struct Affine<B: Backend> { w: Tensor<(Const<2>,), B>, b: Tensor<(Const<2>,), B> }
/// impl<B: Backend> Module<B> for Affine<B> { shapeflow_core::visit_param_fields!(w, b); }
/// let dev = Cpu64::default();
/// let mut m = Affine { w: Tensor::ones(&dev, &[2]).unwrap(), b: Tensor::zeros(&dev, &[2]).unwrap() };
/// requires_grad_params(&mut m).unwrap();
/// let x = Tensor::<(Const<2>,), Cpu64>::from_vec(&dev, &[2], vec![3.0, 4.0]).unwrap();
/// let loss = (&x * &m.w).unwrap().add(&m.b).unwrap().sum_all();
/// let g = module_grads(&loss.backward().unwrap(), &m);
/// assert_eq!((g.w.to_vec(), g.b.to_vec()), (vec![3.0, 4.0], vec![1.0, 1.0]));
/// ```
pub fn requires_grad_params<B: Backend, M: Module<B>>(module: &mut M) -> Result<()> {
    let (params, tensors) = count::<B, M>(module);
    if params != tensors {
        return Err(Error::Autograd(format!(
            "a Module that visits {params} parameters but {tensors} parameter tensors: implement `visit_tensors_mut` (`#[derive(Module)]` does)"
        )));
    }
    module.visit_tensors_mut(&mut String::new(), &mut |_, t| t.track());
    Ok(())
}

/// The gradients of `module`'s parameters (made leaves by [`requires_grad_params`]) as a value
/// of the module's type, the form optimizers take (`opt.step(&mut model, &grads)`); a
/// parameter the backward did not reach gets zeros.
pub fn module_grads<B: Backend, M: Module<B> + Clone>(grads: &Gradients<B>, module: &M) -> M {
    let mut g = module.clone();
    g.visit_tensors_mut(&mut String::new(), &mut |_, t| t.take_grad(grads));
    g
}

/// A layer's forward pass written with the tensor op set; [`Autograd`] derives its backward.
///
/// ```
/// use shapeflow_core::{Const, Dyn, Init, Layer, Module, Result, Rng, Tensor, Backend};
/// use shapeflow_core::autograd::{AutoLayer, Autograd};
/// use shapeflow_cpu::Cpu;
///
/// /// `y = x ⊙ scale`, per feature.
/// #[derive(Clone)]
/// struct Scale<B: Backend> { scale: Tensor<(Const<2>,), B> }
/// impl<B: Backend> Module<B> for Scale<B> { shapeflow_core::visit_param_fields!(scale); }
/// impl<B: Backend> AutoLayer<(Dyn, Const<2>), B> for Scale<B> {
///     type Output = (Dyn, Const<2>);
///     fn forward(&self, x: &Tensor<(Dyn, Const<2>), B>) -> Result<Tensor<(Dyn, Const<2>), B>> {
///         x * &self.scale
///     }
/// }
/// let dev = Cpu::default();
/// let mut layer = Autograd(Scale { scale: Tensor::from_vec(&dev, &[2], vec![2.0, 3.0]).unwrap() });
/// let x = Tensor::<(Dyn, Const<2>), Cpu>::from_vec(&dev, &[1, 2], vec![1.0, 1.0]).unwrap();
/// let (y, cache) = layer.forward_train(&x);
/// assert_eq!(y.to_vec(), vec![2.0, 3.0]);
/// let (dx, grads) = layer.backward(&cache, &y.ones_like()).unwrap();
/// assert_eq!((dx.to_vec(), grads.0.scale.to_vec()), (vec![2.0, 3.0], vec![1.0, 1.0]));
/// ```
pub trait AutoLayer<S: Shape, B: Backend> {
    /// The output shape.
    type Output: Shape;
    /// The forward pass, written with the op set. Its parameters (the tensors its `Module`
    /// visits) are tracked during training; the backward is derived.
    fn forward(&self, x: &Tensor<S, B>) -> Result<Tensor<Self::Output, B>>;
}

/// A [`Layer`] from an [`AutoLayer`]: the forward runs the written code, the backward is
/// autograd's. Parameter names are the inner layer's (the wrapper adds no level).
///
/// An error inside the forward (run-time sizes that do not fit) cannot be returned by
/// [`Layer::forward`]: the output is then NaN, and the training backward returns the error
/// itself, so `fit` stops at the first step naming it.
#[derive(Clone, Debug, Default)]
pub struct Autograd<L>(pub L);

/// What [`Autograd`]'s training forward keeps: the input leaf, the tracked parameters and the
/// recorded output (or the forward's error). The backward takes the tracked parameters out and
/// frees the graph, so that the optimizer's writes find the parameters' buffers unshared.
pub struct AutogradCache<S: Shape, O: Shape, L, B: Backend> {
    x: Tensor<S, B>,
    live: std::sync::Mutex<Option<L>>,
    y: std::result::Result<Tensor<O, B>, String>,
}

fn nan_like<S: Shape, O: Shape, B: Backend>(x: &Tensor<S, B>) -> Tensor<O, B> {
    let dims = O::dims_for_batch(x.batch()).unwrap_or_default();
    x.zeros_on::<O>(dims).full_like(f64::NAN)
}

fn count<B: Backend, M: Module<B>>(m: &mut M) -> (usize, usize) {
    let mut params = 0;
    m.visit_params(&mut String::new(), &mut |_, _, _| params += 1);
    let mut tensors = 0;
    m.visit_tensors_mut(&mut String::new(), &mut |_, _| tensors += 1);
    (params, tensors)
}

impl<S, B, L> Layer<S, B> for Autograd<L>
where
    S: Shape,
    B: Backend,
    L: AutoLayer<S, B> + Module<B> + Clone,
{
    type Output = L::Output;
    type Cache = AutogradCache<S, L::Output, L, B>;

    fn forward(&self, x: &Tensor<S, B>) -> Tensor<L::Output, B> {
        no_grad(|| self.0.forward(x)).unwrap_or_else(|_| nan_like(x))
    }

    fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<L::Output, B>, Self::Cache) {
        let mut live = self.0.clone();
        let x = x.detach().requires_grad();
        let y = requires_grad_params::<B, L>(&mut live)
            .and_then(|()| live.forward(&x))
            .map_err(|e| e.to_string());
        let out = match &y {
            Ok(y) => y.detach(),
            Err(_) => nan_like(&x),
        };
        (out, AutogradCache { x, live: std::sync::Mutex::new(Some(live)), y })
    }

    fn backward(
        &self,
        cache: &Self::Cache,
        dy: &Tensor<L::Output, B>,
    ) -> Result<(Tensor<S, B>, Self)> {
        let y = cache
            .y
            .as_ref()
            .map_err(|e| Error::Autograd(format!("in the layer's forward: {e}")))?;
        let live =
            cache.live.lock().unwrap_or_else(|p| p.into_inner()).take().ok_or_else(|| {
                Error::Autograd(
                    "a second backward from one training forward: run `forward_train` again".into(),
                )
            })?;
        let grads = y.backward_from(Some(dy), false)?;
        let dx = grads.get(&cache.x).unwrap_or_else(|| cache.x.detach().zeros_like());
        Ok((dx, Autograd(module_grads(&grads, &live))))
    }
}

crate::impl_transparent_module!(Autograd);
