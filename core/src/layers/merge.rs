//! Merge nodes of graph models: `Add`, `Sub`, `Mul` take two tensors of one shape to one
//! (elementwise), `Concat` joins two along the first per-sample axis (channels or features);
//! each with its backward. `model!` declares them as `sum: Add(x, c2)`, `cat: Concat(a, b)`.

use crate::backend::{Backend, Elem, Joined};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::Init;
use crate::layer_to::fail_if;
use crate::module::Module;
use crate::rng::Rng;
use crate::shape::Dims;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A node with two inputs, of shapes `S` and `T`, and one output of shape `Y` (the merge nodes
/// of graph models; `T` and `Y` are `S` for the elementwise ones). Backward returns the
/// gradients of both inputs and the (empty) parameter gradients.
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
pub trait Merge<S: Shape, T: Shape, Y: Shape, B: Backend>: Module<B> + Sized {
    /// What the forward pass keeps for the backward pass.
    type Cache;
    /// Inference forward pass.
    fn forward(&self, a: &Tensor<S, B>, b: &Tensor<T, B>) -> Tensor<Y, B>;
    /// Training forward pass, keeping what backward needs.
    fn forward_train(&mut self, a: &Tensor<S, B>, b: &Tensor<T, B>) -> (Tensor<Y, B>, Self::Cache);
    /// From the output gradient, the gradients of both inputs and of the parameters.
    #[allow(clippy::type_complexity)]
    fn backward(
        &self,
        cache: &Self::Cache,
        dy: &Tensor<Y, B>,
    ) -> Result<((Tensor<S, B>, Tensor<T, B>), Self)>;
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

impl<S: Shape, B: Backend> Merge<S, S, S, B> for Add {
    type Cache = usize;
    fn forward(&self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> Tensor<S, B> {
        let mut y = a.scratch_like();
        B::add(a.storage(), b.storage(), y.storage_mut());
        y
    }
    fn forward_train(&mut self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> (Tensor<S, B>, usize) {
        (Merge::<S, S, S, B>::forward(self, a, b), a.len())
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

impl<S: Shape, B: Backend> Merge<S, S, S, B> for Sub {
    type Cache = usize;
    fn forward(&self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> Tensor<S, B> {
        let mut y = a.clone();
        B::axpy(B::Elem::from_f64(-1.0), b.storage(), y.storage_mut());
        y
    }
    fn forward_train(&mut self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> (Tensor<S, B>, usize) {
        (Merge::<S, S, S, B>::forward(self, a, b), a.len())
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

merge_node!(
    /// `[a, b]` along the first per-sample axis (channels of `[c, h, w]`, features of `[f]`);
    /// the other sizes equal. The output size is stated in the type (`model!` computes it) and
    /// checked when the code is built.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor, layers::{Concat, Merge}};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 1, vec![1.0, 2.0]).unwrap();
    /// let b = Tensor::<(Dyn, Const<1>), Cpu>::from_batch(&dev, 1, vec![3.0]).unwrap();
    /// let y: Tensor<(Dyn, Const<3>), Cpu> = Concat.forward(&a, &b);
    /// assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0]);
    /// ```
    Concat
);

/// The build-time check of a concatenation's stated size: `FITS` evaluates only when
/// `C3 = C1 + C2`.
///
/// ```
/// use shapeflow_core::{Const, layers::ConcatSizes};
/// let () = ConcatSizes::<Const<2>, Const<3>, Const<5>>::FITS;
/// ```
pub struct ConcatSizes<C1, C2, C3>(std::marker::PhantomData<fn() -> (C1, C2, C3)>);

impl<C1: StaticDim, C2: StaticDim, C3: StaticDim> ConcatSizes<C1, C2, C3> {
    /// Evaluates only when the stated size is the sum.
    pub const FITS: () = fail_if(
        C1::N + C2::N != C3::N,
        "the stated size of a concatenation is not the sum of its inputs' sizes",
    );
}

/// `Merge` for `Concat` at each rank: `(N, C1, …) + (N, C2, …) → (N, C3, …)`.
macro_rules! concat_rank {
    ($($axis:ident),*) => {
        impl<N: Dim, C1: StaticDim, C2: StaticDim, C3: StaticDim, $($axis: StaticDim,)* B: Backend>
            Merge<(N, C1, $($axis,)*), (N, C2, $($axis,)*), (N, C3, $($axis,)*), B> for Concat
        {
            type Cache = Joined;
            fn forward(
                &self,
                a: &Tensor<(N, C1, $($axis,)*), B>,
                b: &Tensor<(N, C2, $($axis,)*), B>,
            ) -> Tensor<(N, C3, $($axis,)*), B> {
                let () = ConcatSizes::<C1, C2, C3>::FITS;
                let inner = 1 $(* $axis::N)*;
                concat(a, b, Joined { rows: a.batch(), left: C1::N * inner, right: C2::N * inner }, C3::N)
            }
            fn forward_train(
                &mut self,
                a: &Tensor<(N, C1, $($axis,)*), B>,
                b: &Tensor<(N, C2, $($axis,)*), B>,
            ) -> (Tensor<(N, C3, $($axis,)*), B>, Joined) {
                let () = ConcatSizes::<C1, C2, C3>::FITS;
                let inner = 1 $(* $axis::N)*;
                let g = Joined { rows: a.batch(), left: C1::N * inner, right: C2::N * inner };
                (concat(a, b, g, C3::N), g)
            }
            fn backward(
                &self,
                g: &Joined,
                dy: &Tensor<(N, C3, $($axis,)*), B>,
            ) -> Result<((Tensor<(N, C1, $($axis,)*), B>, Tensor<(N, C2, $($axis,)*), B>), Self)> {
                split(dy, *g, C1::N, C2::N).map(|ab| (ab, Concat))
            }
        }
    };
}
concat_rank!();
concat_rank!(L);
concat_rank!(H, W);

/// `[a, b]` per row, the output's first per-sample size `c3`.
fn concat<S: Shape, T: Shape, Y: Shape, B: Backend>(
    a: &Tensor<S, B>,
    b: &Tensor<T, B>,
    g: Joined,
    c3: usize,
) -> Tensor<Y, B> {
    let mut sizes = a.dims().to_vec();
    if let Some(c) = sizes.get_mut(1) {
        *c = c3;
    }
    let mut y = a.scratch_on::<Y>(Dims::new(&sizes).unwrap_or_default());
    B::concat_rows(a.storage(), b.storage(), y.storage_mut(), g);
    y
}

/// The adjoint of [`concat`]: `dy` split into the inputs' gradients (first sizes `c1`, `c2`).
fn split<S: Shape, T: Shape, Y: Shape, B: Backend>(
    dy: &Tensor<Y, B>,
    g: Joined,
    c1: usize,
    c2: usize,
) -> Result<(Tensor<S, B>, Tensor<T, B>)> {
    check_len("Concat", dy, g.rows * g.width())?;
    let with_first = |c: usize| {
        let mut sizes = dy.dims().to_vec();
        if let Some(s) = sizes.get_mut(1) {
            *s = c;
        }
        Dims::new(&sizes)
    };
    let mut a = dy.scratch_on::<S>(with_first(c1)?);
    let mut b = dy.scratch_on::<T>(with_first(c2)?);
    B::split_rows(dy.storage(), a.storage_mut(), b.storage_mut(), g);
    Ok((a, b))
}

/// What `Mul` keeps for backward: both inputs.
pub type MulCache<S, B> = (Tensor<S, B>, Tensor<S, B>);

impl<S: Shape, B: Backend> Merge<S, S, S, B> for Mul {
    type Cache = MulCache<S, B>;
    fn forward(&self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> Tensor<S, B> {
        let mut y = a.scratch_like();
        B::mul(a.storage(), b.storage(), y.storage_mut());
        y
    }
    fn forward_train(&mut self, a: &Tensor<S, B>, b: &Tensor<S, B>) -> (Tensor<S, B>, Self::Cache) {
        (Merge::<S, S, S, B>::forward(self, a, b), (a.clone(), b.clone()))
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
