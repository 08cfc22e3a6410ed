//! `PerStep<L>`: a layer over one vector, applied at every step of a sequence batch
//! (`[batch, steps, I]` → `[batch, steps, O]`), as PyTorch applies `nn.Linear` to the last axis.

use crate::backend::Backend;
use crate::dim::{Dim, Dyn, StaticDim};
use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::shape::Dims;
use crate::tensor::Tensor;

/// `L` applied to every step, the steps of all samples as one batch of rows. Its parameters are
/// `L`'s under the same names (`fc.weight`), and the batch's lengths are kept on the output.
/// `model!` uses it for a `Linear` after a sequence layer.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Module, Rng, Tensor};
/// use shapeflow_core::layers::{Linear, PerStep};
/// use shapeflow_cpu::Cpu;
/// use typenum::{U2, U3};
/// let dev = Cpu::default();
/// let fc = PerStep::new(Linear::<U3, U2, Cpu>::init(&dev, &mut Rng::new(0)));
/// let x = Tensor::<(Dyn, Dyn, U3), Cpu>::from_sequences(&dev, &[vec![1.0; 6], vec![1.0; 3]]).unwrap();
/// let y = fc.forward(&x);
/// assert_eq!((y.dims(), y.lengths().unwrap().as_slice()), (&[2usize, 2, 2][..], &[2usize, 1][..]));
/// assert_eq!(fc.param_names(), ["weight", "bias"]);
/// ```
#[derive(Clone, Debug)]
pub struct PerStep<L>(pub L);

impl<L> PerStep<L> {
    /// Wraps `layer`.
    pub fn new(layer: L) -> Self {
        PerStep(layer)
    }
}

crate::impl_transparent_module!(PerStep);

fn rows<S: crate::shape::Shape, T: crate::shape::Shape, B: Backend>(
    x: &Tensor<S, B>,
    width: usize,
) -> Tensor<T, B> {
    let n = x.dims()[0] * x.dims()[1];
    Tensor::from_parts(x.storage().clone(), Dims::new(&[n, width]).unwrap_or_default())
}

fn steps_of<S: crate::shape::Shape, T: crate::shape::Shape, B: Backend>(
    y: Tensor<S, B>,
    like: &[usize],
    width: usize,
    lengths: Option<crate::seq::Lengths>,
) -> Tensor<T, B> {
    let mut t = Tensor::from_parts(
        y.into_storage(),
        Dims::new(&[like[0], like[1], width]).unwrap_or_default(),
    );
    t.lengths = lengths;
    t
}

/// What backward needs: the inner cache and the batch and step sizes.
pub struct PerStepCache<C> {
    inner: C,
    sizes: [usize; 2],
    lengths: Option<crate::seq::Lengths>,
}

impl<N: Dim, T: Dim, I: StaticDim, O: StaticDim, B: Backend, L> Layer<(N, T, I), B> for PerStep<L>
where
    L: Layer<(Dyn, I), B, Output = (Dyn, O)>,
{
    type Output = (N, T, O);
    type Cache = PerStepCache<L::Cache>;

    fn forward(&self, x: &Tensor<(N, T, I), B>) -> Tensor<(N, T, O), B> {
        let y = self.0.forward(&rows(x, I::N));
        steps_of(y, x.dims(), O::N, x.lengths().cloned())
    }

    fn check_input(&self, x: &Tensor<(N, T, I), B>) -> crate::Result<()> {
        self.0.check_input(&rows(x, I::N))
    }

    fn forward_train(&mut self, x: &Tensor<(N, T, I), B>) -> (Tensor<(N, T, O), B>, Self::Cache) {
        let (y, inner) = self.0.forward_train(&rows(x, I::N));
        let sizes = [x.dims()[0], x.dims()[1]];
        let lengths = x.lengths().cloned();
        (steps_of(y, x.dims(), O::N, lengths.clone()), PerStepCache { inner, sizes, lengths })
    }

    fn backward(
        &self,
        cache: &Self::Cache,
        dy: &Tensor<(N, T, O), B>,
    ) -> Result<(Tensor<(N, T, I), B>, Self)> {
        check(cache, dy.dims(), O::N)?;
        let (dx, g) = self.0.backward(&cache.inner, &rows(dy, O::N))?;
        Ok((steps_of(dx, &cache.sizes, I::N, cache.lengths.clone()), PerStep(g)))
    }

    fn backward_params(&self, cache: &Self::Cache, dy: &Tensor<(N, T, O), B>) -> Result<Self> {
        check(cache, dy.dims(), O::N)?;
        self.0.backward_params(&cache.inner, &rows(dy, O::N)).map(PerStep)
    }
}

fn check<C>(cache: &PerStepCache<C>, dy: &[usize], width: usize) -> Result<()> {
    let [n, t] = cache.sizes;
    if dy != [n, t, width] {
        return Err(Error::Shape(format!(
            "per-step backward: the output gradient has sizes {dy:?} but the forward pass produced [{n}, {t}, {width}]"
        )));
    }
    Ok(())
}
