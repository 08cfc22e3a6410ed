//! The layer trait: a typed forward that can keep a cache, and a backward that returns the input
//! gradient and the parameter gradients.

use crate::backend::Backend;
use crate::error::Result;
use crate::module::Module;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A layer taking tensors of shape `S` on backend `B`.
///
/// Gradients are a value of the layer's own type (`Self`): a `Linear`'s gradient is a `Linear`
/// whose weight and bias hold `∂L/∂weight` and `∂L/∂bias`, so optimizers pair parameters and
/// gradients through one visitor ([`Module::visit_params_with_grads`]).
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor};
/// use shapeflow_core::layers::Relu;
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let x = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&dev, 1, vec![-1.0, 2.0]).unwrap();
/// let mut relu = Relu;
/// let (y, cache) = relu.forward_train(&x);
/// assert_eq!(y.to_vec(), vec![0.0, 2.0]);
/// let (dx, _grads) = relu.backward(&cache, &y.ones_like()).unwrap();
/// assert_eq!(dx.to_vec(), vec![0.0, 1.0]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take a tensor of shape `{S}`",
    label = "this layer does not accept that shape"
)]
pub trait Layer<S: Shape, B: Backend>: Module<B> + Sized {
    /// The output shape.
    type Output: Shape;
    /// What the forward pass keeps for the backward pass.
    type Cache;

    /// Inference: no cache, dropout off, batch norm in eval mode.
    fn forward(&self, x: &Tensor<S, B>) -> Tensor<Self::Output, B>;

    /// Checks values of `x` that the types cannot (an `Embedding`'s token ids): an `Err` naming
    /// the sample, the position and the value that `forward` would turn into NaN outputs.
    /// `forward` itself does not fail, so the inference entry points (`predict`,
    /// `predict_classes`, `predict_proba`, `evaluate`, the server) call this first; call it
    /// before `forward` on input you did not build. A `model!` checks each layer that reads the
    /// model's input. Defaults to `Ok(())`.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor, layers::Embedding};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let emb = Embedding::<typenum::U10, typenum::U4, Cpu>::init(&dev, &mut Rng::new(0));
    /// let ids = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[1, 3], vec![1.0, 10.0, 2.0]).unwrap();
    /// let err = emb.check_input(&ids).unwrap_err().to_string();
    /// assert!(err.contains("token id 10 at sample 0, position 1"), "{err}");
    /// ```
    fn check_input(&self, x: &Tensor<S, B>) -> Result<()> {
        let _ = x;
        Ok(())
    }

    /// Training forward: keeps what backward needs (`&mut self` for dropout's RNG counter and
    /// batch-norm running statistics).
    fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<Self::Output, B>, Self::Cache);

    /// From the output gradient, returns the input gradient and the parameter gradients.
    /// An `Err` when `dy`'s runtime sizes do not match the cached forward pass.
    fn backward(
        &self,
        cache: &Self::Cache,
        dy: &Tensor<Self::Output, B>,
    ) -> Result<(Tensor<S, B>, Self)>;

    /// The parameter gradients alone: what a model's first layer needs, since nothing takes
    /// the gradient of the model's input. Layers whose input gradient costs real work (a
    /// matrix product for `Linear` and the convolutions) skip it; the default discards it.
    fn backward_params(&self, cache: &Self::Cache, dy: &Tensor<Self::Output, B>) -> Result<Self> {
        self.backward(cache, dy).map(|(_, grads)| grads)
    }

    /// [`Layer::backward_params`] that hands each part's gradients to `ready(name, grads)` as
    /// soon as they are final, so data-parallel training can all-reduce them while the rest of
    /// the backward pass runs. `model!` models report each layer by its field name, last layer
    /// first (a shared layer once its uses are summed); the default reports the whole gradient
    /// under the name `""` at the end.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor, layers::Linear};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let mut fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&dev, &mut Rng::new(0));
    /// let x = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&dev, 1, vec![1.0, 2.0]).unwrap();
    /// let (y, cache) = fc.forward_train(&x);
    /// let mut names = Vec::new();
    /// fc.backward_params_ready(&cache, &y.ones_like(), &mut |part, g| {
    ///     g.visit(&mut part.to_string(), &mut |n, _, _| names.push(n.to_string()));
    /// }).unwrap();
    /// assert_eq!(names, ["weight", "bias"]);
    /// ```
    fn backward_params_ready(
        &self,
        cache: &Self::Cache,
        dy: &Tensor<Self::Output, B>,
        ready: &mut GradReady<'_, B>,
    ) -> Result<Self> {
        let grads = self.backward_params(cache, dy)?;
        ready("", &grads);
        Ok(grads)
    }
}

/// The callback of [`Layer::backward_params_ready`]: a part's name (a `model!` field, or `""`
/// for the whole layer) and its finished gradients.
pub type GradReady<'a, B> = dyn FnMut(&str, &dyn crate::module::Params<B>) + 'a;

/// Construction from a seeded generator: how `model!` builds each layer in `new(&device, seed)`.
///
/// ```
/// use shapeflow_core::{Init, Rng};
/// use shapeflow_core::layers::Linear;
/// use shapeflow_cpu::Cpu;
/// let fc = Linear::<typenum::U4, typenum::U2, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
/// assert_eq!(fc.weight.dims(), &[2, 4]);
/// ```
pub trait Init<B: Backend>: Sized {
    /// A freshly initialised layer.
    fn init(dev: &B, rng: &mut Rng) -> Self;
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// A tensor of ones with the same sizes and device.
    pub fn ones_like(&self) -> Self {
        let mut t = self.zeros_like();
        B::fill(t.storage_mut(), <B::Elem as num_traits::One>::one());
        t
    }
}
