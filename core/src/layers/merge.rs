//! Merge nodes of graph models: `Add`, `Sub`, `Mul` take two tensors of one shape to one
//! (elementwise), each with its backward. `model!` declares them as `sum: Add(x, c2)`.

use crate::backend::{Backend, Elem};
use crate::error::{Error, Result};
use crate::layer::Init;
use crate::module::Module;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A node with two inputs of shape `S` and one output of shape `S` (the merge nodes of graph
/// models). Backward returns the gradients of both inputs and the (empty) parameter gradients.
///
/// ```
/// use shapeflow_core::{Dyn, Const, Tensor, layers::{Add, Merge}};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let a = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 1, vec![1.0, 2.0]).unwrap();
/// let (y, cache) = Add.forward_train(&a, &a);
/// assert_eq!(y.to_vec(), vec![2.0, 4.0]);
/// let ((da, db), _) = Add.backward(&cache, &y).unwrap();
/// assert_eq!((da.to_vec(), db.to_vec()), (vec![2.0, 4.0], vec![2.0, 4.0]));
/// ```
pub trait Merge<S: Shape, B: Backend>: Module<B> + Sized {
    /// What the forward pass keeps for the backward pass.
    type Cache;
    /// Inference forward pass.
    fn forward(&self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> Tensor<S, B>;
    /// Training forward pass, keeping what backward needs.
    fn forward_train(&mut self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> (Tensor<S, B>, Self::Cache);
    /// From the output gradient, the gradients of both inputs and of the parameters.
    #[allow(clippy::type_complexity)]
    fn backward(
        &self,
        cache: &Self::Cache,
        dy: &Tensor<S, B>,
    ) -> Result<((Tensor<S, B>, Tensor<S, B>), Self)>;
}

/// The size check every merge backward makes: the gradient has the forward output's length.
fn check_len<S: Shape, B: Backend>(what: &str, dy: &Tensor<S, B>, want: usize) -> Result<()> {
    if dy.len() == want {
        Ok(())
    } else {
        Err(Error::Shape(format!(
            "{what} backward: the output gradient has {} elements but the forward pass produced {want}",
            dy.len()
        )))
    }
}

macro_rules! merge_node {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;
        crate::impl_module_without_params!($name);
        impl<B: Backend> Init<B> for $name {
            fn init(_: &B, _: &mut Rng) -> Self {
                $name
            }
        }
    };
}

merge_node!(
    /// `a + b` elementwise (a residual connection).
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor, layers::{Add, Merge}};
    /// use shapeflow_cpu::Cpu;
    /// let a = Tensor::<(Dyn, Const<1>), Cpu>::from_batch(&Cpu::default(), 1, vec![2.0]).unwrap();
    /// assert_eq!(Add.forward(&a, &a).to_vec(), vec![4.0]);
    /// ```
    Add
);
merge_node!(
    /// `a − b` elementwise.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor, layers::{Merge, Sub}};
    /// use shapeflow_cpu::Cpu;
    /// let a = Tensor::<(Dyn, Const<1>), Cpu>::from_batch(&Cpu::default(), 1, vec![2.0]).unwrap();
    /// assert_eq!(Sub.forward(&a, &a).to_vec(), vec![0.0]);
    /// ```
    Sub
);
merge_node!(
    /// `a ⊙ b` elementwise (gating).
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor, layers::{Merge, Mul}};
    /// use shapeflow_cpu::Cpu;
    /// let a = Tensor::<(Dyn, Const<1>), Cpu>::from_batch(&Cpu::default(), 1, vec![3.0]).unwrap();
    /// assert_eq!(Mul.forward(&a, &a).to_vec(), vec![9.0]);
    /// ```
    Mul
);

impl<S: Shape, B: Backend> Merge<S, B> for Add {
    type Cache = usize;
    fn forward(&self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> Tensor<S, B> {
        let mut y = a.clone();
        B::axpy(B::Elem::from_f64(1.0), b.storage(), y.storage_mut());
        y
    }
    fn forward_train(&mut self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> (Tensor<S, B>, usize) {
        (Merge::forward(self, a, b), a.len())
    }
    fn backward(
        &self,
        len: &usize,
        dy: &Tensor<S, B>,
    ) -> Result<((Tensor<S, B>, Tensor<S, B>), Self)> {
        check_len("Add", dy, *len)?;
        Ok(((dy.clone(), dy.clone()), Add))
    }
}

impl<S: Shape, B: Backend> Merge<S, B> for Sub {
    type Cache = usize;
    fn forward(&self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> Tensor<S, B> {
        let mut y = a.clone();
        B::axpy(B::Elem::from_f64(-1.0), b.storage(), y.storage_mut());
        y
    }
    fn forward_train(&mut self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> (Tensor<S, B>, usize) {
        (Merge::forward(self, a, b), a.len())
    }
    fn backward(
        &self,
        len: &usize,
        dy: &Tensor<S, B>,
    ) -> Result<((Tensor<S, B>, Tensor<S, B>), Self)> {
        check_len("Sub", dy, *len)?;
        Ok(((dy.clone(), dy.scaled(-1.0)), Sub))
    }
}

/// What `Mul` keeps for backward: both inputs.
pub type MulCache<S, B> = (Tensor<S, B>, Tensor<S, B>);

impl<S: Shape, B: Backend> Merge<S, B> for Mul {
    type Cache = MulCache<S, B>;
    fn forward(&self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> Tensor<S, B> {
        let mut y = a.scratch_like();
        B::mul(a.storage(), b.storage(), y.storage_mut());
        y
    }
    fn forward_train(&mut self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> (Tensor<S, B>, Self::Cache) {
        (Merge::forward(self, a, b), (a.clone(), b.clone()))
    }
    fn backward(
        &self,
        (a, b): &Self::Cache,
        dy: &Tensor<S, B>,
    ) -> Result<((Tensor<S, B>, Tensor<S, B>), Self)> {
        check_len("Mul", dy, a.len())?;
        let (mut da, mut db) = (dy.scratch_like(), dy.scratch_like());
        B::mul(dy.storage(), b.storage(), da.storage_mut());
        B::mul(dy.storage(), a.storage(), db.storage_mut());
        Ok(((da, db), Mul))
    }
}
