//! Creation ops beside `zeros`, `ones`, `full`, `randn` and `rand_uniform` (in `tensor.rs`):
//! ranges, the identity, uniform samples and the `_like` forms.

use crate::backend::{Backend, Elem};
use crate::dim::{Dim, Dyn};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<B: Backend> Tensor<(Dyn,), B> {
    /// `start, start + step, …` below `end` (PyTorch's `arange`).
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let r = Tensor::<(Dyn,), Cpu>::arange(&Cpu::default(), 0.0, 2.0, 0.5).unwrap();
    /// assert_eq!(r.to_vec(), vec![0.0, 0.5, 1.0, 1.5]);
    /// ```
    pub fn arange(dev: &B, start: f64, end: f64, step: f64) -> Result<Self> {
        let count = (end - start) / step;
        if !(count.is_finite() && step != 0.0) || count < 0.0 {
            return Err(Error::Shape(format!(
                "arange({start}, {end}, {step}): not a finite, non-negative count"
            )));
        }
        let n = count.ceil() as usize;
        let data = (0..n).map(|i| B::Elem::from_f64(start + step * i as f64)).collect();
        Self::from_vec(dev, &[n], data)
    }

    /// `steps` evenly spaced values from `start` to `end`, both included.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let r = Tensor::<(Dyn,), Cpu>::linspace(&Cpu::default(), 0.0, 1.0, 5).unwrap();
    /// assert_eq!(r.to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    /// ```
    pub fn linspace(dev: &B, start: f64, end: f64, steps: usize) -> Result<Self> {
        let step = if steps > 1 { (end - start) / (steps - 1) as f64 } else { 0.0 };
        let data = (0..steps)
            .map(|i| {
                B::Elem::from_f64(if i + 1 == steps && steps > 1 {
                    end
                } else {
                    start + step * i as f64
                })
            })
            .collect();
        Self::from_vec(dev, &[steps], data)
    }
}

impl<N: Dim, M: Dim, B: Backend> Tensor<(N, M), B> {
    /// The `n × m` identity: ones on the diagonal.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let i = Tensor::<(Const<2>, Const<2>), Cpu>::eye(&Cpu::default(), &[2, 2]).unwrap();
    /// assert_eq!(i.to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn eye(dev: &B, sizes: &[usize]) -> Result<Self> {
        let dims = <(N, M)>::check(sizes)?;
        let (n, m) = (dims.as_slice()[0], dims.as_slice()[1]);
        let data = (0..n * m)
            .map(|i| if i / m == i % m { B::Elem::from_f64(1.0) } else { B::Elem::from_f64(0.0) })
            .collect();
        Self::from_vec(dev, sizes, data)
    }
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// Seeded uniform samples on `[0, 1)` (PyTorch's `rand`).
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let r = Tensor::<(Const<4>,), Cpu>::rand(&Cpu::default(), &[4], 1).unwrap();
    /// assert!(r.to_vec().iter().all(|v| (0.0..1.0).contains(v)));
    /// ```
    pub fn rand(dev: &B, sizes: &[usize], seed: u64) -> Result<Self> {
        Self::rand_uniform(dev, sizes, 0.0, 1.0, seed)
    }

    /// A tensor of `value` with `self`'s sizes and device.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<2>,), Cpu>::zeros(&Cpu::default(), &[2]).unwrap();
    /// assert_eq!(x.full_like(3.0).to_vec(), vec![3.0, 3.0]);
    /// assert_eq!(x.rand_like(0).dims(), x.randn_like(0).dims());
    /// ```
    pub fn full_like(&self, value: f64) -> Self {
        let mut storage = B::scratch_like(self.storage(), self.len());
        B::fill(&mut storage, B::Elem::from_f64(value));
        Tensor::from_parts(storage, self.shape())
    }

    /// Seeded uniform samples on `[0, 1)` with `self`'s sizes and device.
    pub fn rand_like(&self, seed: u64) -> Self {
        let mut rng = crate::Rng::new(seed);
        let data: Vec<B::Elem> =
            (0..self.len()).map(|_| B::Elem::from_f64(rng.uniform_in(0.0, 1.0))).collect();
        Tensor::from_parts(B::upload_like(self.storage(), &data), self.shape())
    }

    /// Seeded standard normal samples with `self`'s sizes and device.
    pub fn randn_like(&self, seed: u64) -> Self {
        let mut rng = crate::Rng::new(seed);
        let data: Vec<B::Elem> = (0..self.len()).map(|_| B::Elem::from_f64(rng.normal())).collect();
        Tensor::from_parts(B::upload_like(self.storage(), &data), self.shape())
    }
}
