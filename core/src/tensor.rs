//! `Tensor<S, B>`: a buffer on backend `B` whose shape `S` the compiler checks.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::autograd::{Node, Raw};
use crate::ops::var::Var;

use crate::backend::{Backend, Elem};
use crate::dim::Dim;
use crate::error::{Error, Result};
use crate::operand::{MatmulRhs, Matrix};
use crate::rng::Rng;
use crate::seq::Lengths;
use crate::shape::{Dims, Shape};

/// A tensor of shape `S` (a tuple of dimensions) stored on backend `B`.
///
/// The static dimensions of `S` are checked by the compiler; `Dyn` dimensions (the batch) are
/// checked when the tensor is built, so every tensor's runtime sizes agree with its type.
///
/// ```
/// use shapeflow_core::{Dyn, Tensor};
/// use shapeflow_cpu::Cpu;
/// use typenum::U3;
/// let dev = Cpu::default();
/// let t = Tensor::<(Dyn, U3), Cpu>::from_vec(&dev, &[2, 3], vec![1.0; 6]).unwrap();
/// assert_eq!(t.dims(), &[2, 3]);
/// assert!(Tensor::<(Dyn, U3), Cpu>::from_vec(&dev, &[2, 3], vec![1.0; 5]).is_err());
/// ```
pub struct Tensor<S: Shape, B: Backend> {
    storage: B::Storage,
    dims: Dims,
    /// Each sample's valid length along the sequence axis, for sequence shapes
    /// `(Dyn, Dyn, …)` built from ragged data (see [`Tensor::from_sequences`]).
    pub(crate) lengths: Option<Lengths>,
    /// The autograd node of a tensor that requires gradients or was computed from one.
    pub(crate) node: Option<Arc<Node<B>>>,
    _shape: PhantomData<S>,
}

/// Sizes checked against shape `S` and against the `len` elements supplied for them.
fn checked_dims<S: Shape>(sizes: &[usize], len: usize) -> Result<Dims> {
    let dims = S::check(sizes)?;
    if len != dims.numel() {
        return Err(Error::Length {
            what: format!("tensor of shape {} with sizes {:?}", S::describe(), sizes),
            expected: dims.numel(),
            got: len,
        });
    }
    Ok(dims)
}

impl<S: Shape, B: Backend> Clone for Tensor<S, B> {
    fn clone(&self) -> Self {
        Tensor {
            storage: self.storage.clone(),
            dims: self.dims,
            lengths: self.lengths.clone(),
            node: self.node.clone(),
            _shape: PhantomData,
        }
    }
}

impl<S: Shape, B: Backend> std::fmt::Debug for Tensor<S, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &S::describe())
            .field("dims", &self.dims)
            .finish_non_exhaustive()
    }
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// Wraps a buffer whose length and sizes are checked against `S`.
    pub fn from_storage(storage: B::Storage, sizes: &[usize]) -> Result<Self> {
        let dims = checked_dims::<S>(sizes, B::len(&storage))?;
        Ok(Tensor { storage, dims, lengths: None, node: None, _shape: PhantomData })
    }

    /// Builds a tensor from host data; the length must equal the product of `sizes`.
    pub fn from_vec(dev: &B, sizes: &[usize], data: Vec<B::Elem>) -> Result<Self> {
        let dims = checked_dims::<S>(sizes, data.len())?;
        Ok(Tensor {
            storage: dev.upload(&data),
            dims,
            lengths: None,
            node: None,
            _shape: PhantomData,
        })
    }

    /// Builds a tensor from host data with every `Dyn` dimension set to `batch`.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let t = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&Cpu::default(), 3, vec![0.0; 6]).unwrap();
    /// assert_eq!(t.batch(), 3);
    /// ```
    pub fn from_batch(dev: &B, batch: usize, data: Vec<B::Elem>) -> Result<Self> {
        let dims = S::dims_for_batch(batch)?;
        Self::from_vec(dev, dims.as_slice(), data)
    }

    /// A tensor filled with `value`.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let t = Tensor::<(Dyn, typenum::U2), Cpu>::full(&Cpu::default(), &[3, 2], 0.5).unwrap();
    /// assert_eq!(t.to_vec(), vec![0.5; 6]);
    /// ```
    pub fn full(dev: &B, sizes: &[usize], value: B::Elem) -> Result<Self> {
        let dims = S::check(sizes)?;
        let mut storage = dev.zeros(dims.numel());
        if value != B::Elem::default() {
            B::fill(&mut storage, value);
        }
        Ok(Tensor { storage, dims, lengths: None, node: None, _shape: PhantomData })
    }

    /// A tensor of zeros.
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::Cpu;
    /// let z = Tensor::<(typenum::U2, typenum::U2), Cpu>::zeros(&Cpu::default(), &[2, 2]).unwrap();
    /// assert_eq!(z.to_vec(), vec![0.0; 4]);
    /// ```
    pub fn zeros(dev: &B, sizes: &[usize]) -> Result<Self> {
        Self::full(dev, sizes, B::Elem::default())
    }

    /// A tensor of ones.
    pub fn ones(dev: &B, sizes: &[usize]) -> Result<Self> {
        Self::full(dev, sizes, B::Elem::one())
    }

    /// Seeded samples from a normal distribution `N(mean, std²)`.
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(typenum::U8,), Cpu>::randn(&dev, &[8], 0.0, 1.0, 7).unwrap();
    /// let b = Tensor::<(typenum::U8,), Cpu>::randn(&dev, &[8], 0.0, 1.0, 7).unwrap();
    /// assert_eq!(a.to_vec(), b.to_vec());
    /// ```
    pub fn randn(dev: &B, sizes: &[usize], mean: f64, std: f64, seed: u64) -> Result<Self> {
        let dims = S::check(sizes)?;
        let mut rng = Rng::new(seed);
        let data: Vec<B::Elem> =
            (0..dims.numel()).map(|_| B::Elem::from_f64(mean + std * rng.normal())).collect();
        Self::from_vec(dev, sizes, data)
    }

    /// Seeded samples from a uniform distribution on `[lo, hi)`.
    pub fn rand_uniform(dev: &B, sizes: &[usize], lo: f64, hi: f64, seed: u64) -> Result<Self> {
        let mut rng = Rng::new(seed);
        Self::rand_uniform_with(dev, sizes, lo, hi, &mut rng)
    }

    /// Uniform samples on `[lo, hi)` drawn from an existing generator (used by initialisers).
    pub fn rand_uniform_with(
        dev: &B,
        sizes: &[usize],
        lo: f64,
        hi: f64,
        rng: &mut Rng,
    ) -> Result<Self> {
        let dims = S::check(sizes)?;
        let data: Vec<B::Elem> =
            (0..dims.numel()).map(|_| B::Elem::from_f64(rng.uniform_in(lo, hi))).collect();
        Self::from_vec(dev, sizes, data)
    }

    /// A zero tensor with the same sizes and device as `self`.
    pub fn zeros_like(&self) -> Self {
        Tensor {
            storage: B::zeros_like(&self.storage, self.dims.numel()),
            dims: self.dims,
            lengths: self.lengths.clone(),
            node: None,
            _shape: PhantomData,
        }
    }

    /// A tensor with the same sizes and device whose contents are unspecified, for outputs a
    /// kernel overwrites completely (reuses pooled memory without zero-filling it).
    pub(crate) fn scratch_like(&self) -> Self {
        Tensor {
            storage: B::scratch_like(&self.storage, self.dims.numel()),
            dims: self.dims,
            lengths: self.lengths.clone(),
            node: None,
            _shape: PhantomData,
        }
    }

    /// As [`Tensor::scratch_like`] for another shape.
    pub(crate) fn scratch_on<T: Shape>(&self, dims: Dims) -> Tensor<T, B> {
        let lengths = self.lengths_for::<T>(dims);
        Tensor {
            storage: B::scratch_like(&self.storage, dims.numel()),
            dims,
            lengths,
            node: None,
            _shape: PhantomData,
        }
    }

    /// A zero tensor of another shape on the same device, with the given runtime dims.
    pub(crate) fn zeros_on<T: Shape>(&self, dims: Dims) -> Tensor<T, B> {
        let lengths = self.lengths_for::<T>(dims);
        Tensor {
            storage: B::zeros_like(&self.storage, dims.numel()),
            dims,
            lengths,
            node: None,
            _shape: PhantomData,
        }
    }

    /// Copies the data to the host, row-major.
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::Cpu;
    /// let t = Tensor::<(typenum::U2, typenum::U2), Cpu>::from_vec(&Cpu::default(), &[2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// assert_eq!(t.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!((t.dims(), t.len(), t.batch()), (&[2usize, 2][..], 4, 2));
    /// ```
    pub fn to_vec(&self) -> Vec<B::Elem> {
        B::to_host(&self.storage)
    }

    /// The runtime sizes, outermost first.
    pub fn dims(&self) -> &[usize] {
        self.dims.as_slice()
    }

    /// The runtime sizes as a [`Dims`] value.
    pub fn shape(&self) -> Dims {
        self.dims
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dims.numel()
    }

    /// Whether the tensor holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size of the first dimension (the batch for `(Dyn, …)` shapes).
    pub fn batch(&self) -> usize {
        self.dims.first()
    }

    /// The device buffer.
    pub fn storage(&self) -> &B::Storage {
        &self.storage
    }

    /// The device buffer, mutably (its length cannot change).
    pub fn storage_mut(&mut self) -> &mut B::Storage {
        &mut self.storage
    }

    /// Reinterprets the data under another shape with the same number of elements.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// use typenum::{U2, U6};
    /// let t = Tensor::<(Dyn, U6), Cpu>::from_batch(&Cpu::default(), 1, vec![0.0; 6]).unwrap();
    /// let r = t.reshape::<(Dyn, U2, typenum::U3)>(&[1, 2, 3]).unwrap();
    /// assert_eq!(r.dims(), &[1, 2, 3]);
    /// ```
    pub fn reshape<T: Shape>(self, sizes: &[usize]) -> Result<Tensor<T, B>> {
        let dims = checked_dims::<T>(sizes, self.len())?;
        Ok(Tensor::from_var(self.as_var().reshape(dims)))
    }

    /// Checks that `other` has exactly the same runtime sizes (`Dyn` dimensions included).
    pub fn check_same_dims<T: Shape>(&self, other: &Tensor<T, B>, what: &str) -> Result<()> {
        if self.dims != other.dims {
            return Err(Error::Shape(format!(
                "{what}: sizes {:?} and {:?} differ",
                self.dims(),
                other.dims()
            )));
        }
        Ok(())
    }

    /// Multiplies every element by `alpha`.
    pub fn scaled(&self, alpha: f64) -> Tensor<S, B> {
        let mut out = self.clone();
        B::scale(&mut out.storage, B::Elem::from_f64(alpha));
        out
    }

    /// Sum of all elements, accumulated in `f64` (not recorded by autograd: see
    /// [`Tensor::sum_all`]).
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::Cpu;
    /// let a = Tensor::<(typenum::U2,), Cpu>::from_vec(&Cpu::default(), &[2], vec![3.0, 4.0]).unwrap();
    /// assert_eq!(a.scaled(0.5).to_vec(), vec![1.5, 2.0]);
    /// assert_eq!(a.sum_f64(), 7.0);
    /// ```
    pub fn sum_f64(&self) -> f64 {
        B::sum(&self.storage)
    }
}

impl<M: Dim, K: Dim, B: Backend> Tensor<(M, K), B> {
    /// Matrix product `(M, K) × (K, N) → (M, N)`; the inner dimensions must agree at compile time
    /// (and at run time, for `Dyn` ones).
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::Cpu;
    /// use typenum::{U1, U2};
    /// let dev = Cpu::default();
    /// let a = Tensor::<(U1, U2), Cpu>::from_vec(&dev, &[1, 2], vec![1.0, 2.0]).unwrap();
    /// let b = Tensor::<(U2, U1), Cpu>::from_vec(&dev, &[2, 1], vec![3.0, 4.0]).unwrap();
    /// assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![11.0]);
    /// ```
    pub fn matmul<N: Dim, R: MatmulRhs<K, N, B>>(&self, rhs: R) -> Result<Tensor<(M, N), B>> {
        let rhs = rhs.rhs().to_tensor();
        Ok(Tensor::from_var(self.as_var().matmul(&rhs.as_var())?))
    }
}

impl<K: Dim, N: Dim, B: Backend> Matrix<K, N, B> for Tensor<(K, N), B> {
    fn sizes(&self) -> &[usize] {
        self.dims()
    }
    fn buffer(&self) -> &B::Storage {
        self.storage()
    }
    fn to_tensor(&self) -> Tensor<(K, N), B> {
        self.clone()
    }
}

use num_traits::One;

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// A zero tensor of shape `T` with the given sizes, on the same device as `self` (how layers
    /// written outside this crate allocate outputs in `backward`).
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&Cpu::default(), 3, vec![0.0; 6]).unwrap();
    /// let y = x.zeros_with::<(Dyn, typenum::U4)>(&[3, 4]).unwrap();
    /// assert_eq!(y.len(), 12);
    /// ```
    pub fn zeros_with<T: Shape>(&self, sizes: &[usize]) -> Result<Tensor<T, B>> {
        let dims = T::check(sizes)?;
        Ok(self.zeros_on(dims))
    }
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// A tensor of shape `T` from host data, on the same device as `self` (for layers written
    /// outside this crate, which have no device handle in `backward`).
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, typenum::U2), Cpu>::from_batch(&Cpu::default(), 1, vec![1.0, 2.0]).unwrap();
    /// let y = x.from_vec_like::<(Dyn, typenum::U1)>(&[1, 1], vec![3.0]).unwrap();
    /// assert_eq!(y.to_vec(), vec![3.0]);
    /// ```
    pub fn from_vec_like<T: Shape>(
        &self,
        sizes: &[usize],
        data: Vec<B::Elem>,
    ) -> Result<Tensor<T, B>> {
        let dims = checked_dims::<T>(sizes, data.len())?;
        Ok(Tensor {
            storage: B::upload_like(&self.storage, &data),
            dims,
            lengths: None,
            node: None,
            _shape: PhantomData,
        })
    }
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// Uniform samples on `[lo, hi)` for a shape whose dimensions are all static (parameters):
    /// no `Result`, because the sizes come from the type. `Dyn` dimensions count as size 0.
    ///
    /// ```
    /// use shapeflow_core::{Rng, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let w = Tensor::<(typenum::U2, typenum::U3), Cpu>::uniform_static(&Cpu::default(), -1.0, 1.0, &mut Rng::new(0));
    /// assert_eq!(w.dims(), &[2, 3]);
    /// ```
    pub fn uniform_static(dev: &B, lo: f64, hi: f64, rng: &mut Rng) -> Self {
        let sizes: Vec<usize> = S::STATIC.iter().map(|d| d.unwrap_or(0)).collect();
        let dims = Dims::new(&sizes).unwrap_or_default();
        let data: Vec<B::Elem> =
            (0..dims.numel()).map(|_| B::Elem::from_f64(rng.uniform_in(lo, hi))).collect();
        Tensor { storage: dev.upload(&data), dims, lengths: None, node: None, _shape: PhantomData }
    }
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// Wraps a buffer and sizes that the caller guarantees agree with each other and with `S`
    /// (layers use it for outputs whose sizes they computed from their types).
    pub(crate) fn from_parts(storage: B::Storage, dims: Dims) -> Self {
        debug_assert_eq!(B::len(&storage), dims.numel());
        Tensor { storage, dims, lengths: None, node: None, _shape: PhantomData }
    }

    /// The same data under shape type `T`, for code generated by `model!` after a custom layer
    /// whose output shape the model states: a separate generated check proves at compile time
    /// that the layer's `Output` is `T`. Not for hand-written code.
    #[doc(hidden)]
    pub fn __assume_shape<T: Shape>(self) -> Tensor<T, B> {
        Tensor {
            storage: self.storage,
            dims: self.dims,
            lengths: self.lengths,
            node: self.node,
            _shape: PhantomData,
        }
    }

    /// A tensor from an op's untyped result and its autograd node; the op's shape rule
    /// guarantees that the sizes fit `S`.
    pub(crate) fn from_raw(raw: Raw<B>, node: Option<Arc<Node<B>>>) -> Self {
        debug_assert!(S::check(raw.dims.as_slice()).is_ok(), "{} vs {}", S::describe(), raw.dims);
        Tensor { storage: raw.storage, dims: raw.dims, lengths: None, node, _shape: PhantomData }
    }

    /// The value and node, for the op set.
    pub(crate) fn as_var(&self) -> Var<B> {
        Var::new(Raw { storage: self.storage.clone(), dims: self.dims }, self.node.clone())
    }

    /// A tensor from an op's result.
    pub(crate) fn from_var(v: Var<B>) -> Self {
        Self::from_raw(v.raw, v.node)
    }

    /// Gives up the buffer.
    pub fn into_storage(self) -> B::Storage {
        self.storage
    }
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// A copy of this tensor on another device (or backend), through host memory.
    ///
    /// ```
    /// use shapeflow_core::Tensor;
    /// use shapeflow_cpu::{Cpu, Cpu64};
    /// let t = Tensor::<(typenum::U2,), Cpu>::ones(&Cpu::default(), &[2]).unwrap();
    /// let d = t.to_device(&Cpu64::default());
    /// assert_eq!(d.to_vec(), vec![1.0f64, 1.0]);
    /// ```
    pub fn to_device<C: Backend>(&self, dev: &C) -> Tensor<S, C> {
        let host: Vec<C::Elem> =
            self.to_vec().into_iter().map(|v| C::Elem::from_f64(v.as_f64())).collect();
        Tensor {
            storage: dev.upload(&host),
            dims: self.dims,
            lengths: self.lengths.clone(),
            node: None,
            _shape: PhantomData,
        }
    }
}
