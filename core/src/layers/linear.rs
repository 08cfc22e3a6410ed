//! `Linear<I, O>`: `y = x · Wᵀ + b`, weight stored `[out, in]` as in PyTorch.

use crate::backend::{Backend, Gemm};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::module::Module;
use crate::rng::Rng;
use crate::shape::Dims;
use crate::tensor::Tensor;

/// Fully connected layer from `I` to `O` features, with bias.
///
/// Initialised as PyTorch's `nn.Linear`: weight and bias uniform on `±1/√I` (kaiming-uniform
/// with `a = √5`), drawn from the model's seeded generator.
///
/// ```
/// use shapeflow_core::{Dyn, Init, Layer, Rng, Tensor};
/// use shapeflow_core::layers::Linear;
/// use shapeflow_cpu::Cpu;
/// use typenum::{U3, U2};
/// let dev = Cpu::default();
/// let fc = Linear::<U3, U2, Cpu>::init(&dev, &mut Rng::new(1));
/// let x = Tensor::<(Dyn, U3), Cpu>::from_batch(&dev, 4, vec![0.5; 12]).unwrap();
/// assert_eq!(fc.forward(&x).dims(), &[4, 2]);
/// ```
pub struct Linear<I: StaticDim, O: StaticDim, B: Backend> {
    /// Weight, `[out, in]`.
    pub weight: Tensor<(O, I), B>,
    /// Bias, `[out]`; `None` for a layer without one (`bias = false` in `model!`, PyTorch's
    /// `bias=None`: no `bias` entry in the state dict).
    pub bias: Option<Tensor<(O,), B>>,
}

impl<I: StaticDim, O: StaticDim, B: Backend> Clone for Linear<I, O, B> {
    fn clone(&self) -> Self {
        Linear { weight: self.weight.clone(), bias: self.bias.clone() }
    }
}

impl<I: StaticDim, O: StaticDim, B: Backend> std::fmt::Debug for Linear<I, O, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Linear({} -> {})", I::N, O::N)
    }
}

impl<I: StaticDim, O: StaticDim, B: Backend> Init<B> for Linear<I, O, B> {
    fn init(dev: &B, rng: &mut Rng) -> Self {
        let bound = 1.0 / (I::N as f64).sqrt();
        Linear {
            weight: Tensor::uniform_static(dev, -bound, bound, rng),
            bias: Some(Tensor::uniform_static(dev, -bound, bound, rng)),
        }
    }
}

impl<I: StaticDim, O: StaticDim, B: Backend> Module<B> for Linear<I, O, B> {
    crate::visit_param_fields!(weight, bias);
}

impl<I: StaticDim, O: StaticDim, B: Backend> Linear<I, O, B> {
    /// The same layer without its bias (`y = x · Wᵀ`).
    ///
    /// ```
    /// use shapeflow_core::{Init, Module, Rng, layers::Linear};
    /// use shapeflow_cpu::Cpu;
    /// let fc = Linear::<typenum::U3, typenum::U2, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
    /// assert_eq!(fc.without_bias().param_names(), ["weight"]);
    /// ```
    pub fn without_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    fn apply<N: Dim>(&self, x: &Tensor<(N, I), B>) -> Tensor<(N, O), B> {
        let n = x.batch();
        let mut y = x.scratch_on::<(N, O)>(dims2(n, O::N));
        B::matmul(
            x.storage(),
            self.weight.storage(),
            y.storage_mut(),
            Gemm::new(n, I::N, O::N).transpose_b(),
        );
        if let Some(bias) = &self.bias {
            B::add_bias(y.storage_mut(), bias.storage(), n, O::N);
        }
        y
    }
}

pub(crate) fn dims2(a: usize, b: usize) -> Dims {
    Dims::new(&[a, b]).unwrap_or_default()
}

impl<N: Dim, I: StaticDim, O: StaticDim, B: Backend> Layer<(N, I), B> for Linear<I, O, B> {
    type Output = (N, O);
    type Cache = Tensor<(N, I), B>;

    fn forward(&self, x: &Tensor<(N, I), B>) -> Tensor<(N, O), B> {
        self.apply(x)
    }

    fn forward_train(&mut self, x: &Tensor<(N, I), B>) -> (Tensor<(N, O), B>, Self::Cache) {
        (self.apply(x), x.clone())
    }

    fn backward(
        &self,
        x: &Self::Cache,
        dy: &Tensor<(N, O), B>,
    ) -> Result<(Tensor<(N, I), B>, Self)> {
        let grads = self.backward_params(x, dy)?;
        let mut dx = x.scratch_like();
        // dx[n, I] = dy[n, O] · W[O, I]
        B::matmul(
            dy.storage(),
            self.weight.storage(),
            dx.storage_mut(),
            Gemm::new(x.batch(), O::N, I::N),
        );
        Ok((dx, grads))
    }

    fn backward_params(&self, x: &Self::Cache, dy: &Tensor<(N, O), B>) -> Result<Self> {
        let n = x.batch();
        if dy.batch() != n {
            return Err(Error::Shape(format!(
                "Linear backward: the output gradient has batch {} but the forward pass had {n}",
                dy.batch()
            )));
        }
        // dW[O, I] = dyᵀ[O, n] · x[n, I]
        let mut weight = self.weight.scratch_like();
        B::matmul(
            dy.storage(),
            x.storage(),
            weight.storage_mut(),
            Gemm::new(O::N, n, I::N).transpose_a(),
        );
        let bias = self.bias.as_ref().map(|b| {
            let mut db = b.scratch_like();
            B::sum_rows(dy.storage(), db.storage_mut(), n, O::N);
            db
        });
        Ok(Linear { weight, bias })
    }
}
