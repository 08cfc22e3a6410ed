//! Sequence batches: tensors of shape `(Dyn, Dyn, …)` (batch, steps, features per step) built
//! from ragged data, which carry each sample's length so that padded steps never reach an
//! output, a loss or a gradient.
//!
//! Padding is zeroed when the batch is built, whatever the caller put there; per-step layers
//! (`Linear`, activations, `LayerNorm`, `Dropout`) keep the lengths on their outputs; sequence
//! layers (`Lstm`, `Gru`, `Rnn`, `LastStep`, `MeanOverTime`) and per-step losses read them.

use std::sync::Arc;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;

/// Each sample's number of valid steps, shared (cheaply cloned) by every tensor derived from
/// one batch.
///
/// ```
/// use shapeflow_core::seq::Lengths;
/// let l = Lengths::new(vec![3, 1, 2]).unwrap();
/// assert_eq!((l.as_slice(), l.max(), l.total()), (&[3usize, 1, 2][..], 3, 6));
/// assert!(Lengths::new(vec![2, 0]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lengths(Arc<[usize]>);

impl Lengths {
    /// Lengths of at least 1 each (an empty sequence has no last step); an `Err` naming the
    /// sample otherwise.
    pub fn new(lengths: Vec<usize>) -> Result<Self> {
        if let Some(i) = lengths.iter().position(|&l| l == 0) {
            return Err(Error::Shape(format!(
                "sequence {i} of the batch is empty; every sequence needs at least one step"
            )));
        }
        Ok(Lengths(lengths.into()))
    }
    /// The lengths, one per sample.
    pub fn as_slice(&self) -> &[usize] {
        &self.0
    }
    /// The longest length (the padded number of steps), 0 for an empty batch.
    pub fn max(&self) -> usize {
        self.0.iter().copied().max().unwrap_or(0)
    }
    /// The number of valid steps in the batch.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }
}

/// Whether `S` is a sequence shape: batch and steps both runtime sizes.
pub fn is_sequence<S: Shape>() -> bool {
    S::RANK >= 2 && S::STATIC[0].is_none() && S::STATIC[1].is_none()
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// A padded sequence batch from ragged samples: sample `i` holds `len_i × per_step` values
    /// (`per_step` = the product of `S`'s static sizes), padded with zeros to the longest.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let seqs = vec![vec![1.0, 2.0, 3.0, 4.0], vec![5.0, 6.0]]; // 2 steps and 1 step of 2 features
    /// let x = Tensor::<(Dyn, Dyn, typenum::U2), Cpu>::from_sequences(&dev, &seqs).unwrap();
    /// assert_eq!(x.dims(), &[2, 2, 2]);
    /// assert_eq!(x.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0]);
    /// assert_eq!(x.lengths().unwrap().as_slice(), &[2, 1]);
    /// ```
    pub fn from_sequences<T: AsRef<[B::Elem]>>(dev: &B, samples: &[T]) -> Result<Self> {
        require_sequence::<S>()?;
        let per = S::static_numel();
        let mut lengths = Vec::with_capacity(samples.len());
        for (i, s) in samples.iter().enumerate() {
            let n = s.as_ref().len();
            if per == 0 || n % per != 0 {
                return Err(Error::Length {
                    what: format!(
                        "sequence {i}: a whole number of steps of {per} values (shape {})",
                        S::describe()
                    ),
                    expected: n.div_ceil(per.max(1)) * per,
                    got: n,
                });
            }
            lengths.push(n / per);
        }
        let lengths = Lengths::new(lengths)?;
        let steps = lengths.max();
        let mut data = vec![B::Elem::default(); samples.len() * steps * per];
        for (i, s) in samples.iter().enumerate() {
            let s = s.as_ref();
            data[i * steps * per..i * steps * per + s.len()].copy_from_slice(s);
        }
        let mut sizes = vec![samples.len(), steps];
        sizes.extend(S::STATIC[2..].iter().map(|d| d.unwrap_or(1)));
        let mut t = Self::from_vec(dev, &sizes, data)?;
        t.lengths = Some(lengths);
        Ok(t)
    }

    /// A sequence batch from data already padded to `sizes = [batch, steps, …]`, with each
    /// sample's length. Whatever the padded positions hold (NaN included) is replaced by zeros.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Dyn), Cpu>::from_padded(&Cpu::default(), &[2, 3], vec![1.0, 2.0, 3.0, 4.0, f32::NAN, f32::NAN], &[3, 1]).unwrap();
    /// assert_eq!(x.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
    /// assert!(Tensor::<(Dyn, Dyn), Cpu>::from_padded(&Cpu::default(), &[2, 3], vec![0.0; 6], &[4, 1]).is_err());
    /// ```
    pub fn from_padded(
        dev: &B,
        sizes: &[usize],
        mut data: Vec<B::Elem>,
        lengths: &[usize],
    ) -> Result<Self> {
        require_sequence::<S>()?;
        let dims = S::check(sizes)?;
        let (batch, steps) = (sizes[0], sizes[1]);
        if lengths.len() != batch {
            return Err(Error::Length {
                what: "sequence lengths (one per sample of the batch)".into(),
                expected: batch,
                got: lengths.len(),
            });
        }
        if let Some(i) = lengths.iter().position(|&l| l > steps) {
            return Err(Error::Shape(format!(
                "sequence {i} has length {} but the batch is padded to {steps} steps",
                lengths[i]
            )));
        }
        if data.len() != dims.numel() {
            return Err(Error::Length {
                what: format!("padded sequence batch of sizes {sizes:?}"),
                expected: dims.numel(),
                got: data.len(),
            });
        }
        let per = dims.numel() / (batch * steps).max(1);
        for (i, &l) in lengths.iter().enumerate() {
            data[(i * steps + l) * per..(i + 1) * steps * per].fill(B::Elem::default());
        }
        let mut t = Self::from_vec(dev, sizes, data)?;
        t.lengths = Some(Lengths::new(lengths.to_vec())?);
        Ok(t)
    }

    /// Each sample's length, for a sequence batch built from ragged data; `None` for a tensor
    /// whose every sample fills all its steps.
    pub fn lengths(&self) -> Option<&Lengths> {
        self.lengths.as_ref()
    }

    /// Each sample's length: the stored ones, or the full number of steps for every sample.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Dyn), Cpu>::zeros(&Cpu::default(), &[2, 5]).unwrap();
    /// assert_eq!(x.step_lengths(), vec![5, 5]);
    /// ```
    pub fn step_lengths(&self) -> Vec<usize> {
        match &self.lengths {
            Some(l) => l.as_slice().to_vec(),
            None => {
                let d = self.dims();
                vec![d.get(1).copied().unwrap_or(1); d.first().copied().unwrap_or(0)]
            }
        }
    }

    /// The same tensor with `lengths` attached (or removed): for layers that build a sequence
    /// output from scratch. An `Err` when they do not fit the batch and steps.
    pub fn with_lengths(mut self, lengths: Option<Lengths>) -> Result<Self> {
        if let Some(l) = &lengths {
            let d = self.dims();
            if !is_sequence::<S>() || l.as_slice().len() != d[0] || l.max() > d[1] {
                return Err(Error::Shape(format!(
                    "lengths {:?} do not fit a tensor of shape {} with sizes {d:?}",
                    l.as_slice(),
                    S::describe()
                )));
            }
        }
        self.lengths = lengths;
        Ok(self)
    }

    /// The lengths a tensor of shape `T` and sizes `dims` derived from `self` keeps: those of
    /// `self` when `T` is a sequence shape with the same batch and steps.
    pub(crate) fn lengths_for<T: Shape>(&self, dims: Dims) -> Option<Lengths> {
        let same = dims.rank() >= 2 && self.dims().get(..2) == Some(&dims.as_slice()[..2]);
        if same && is_sequence::<T>() { self.lengths.clone() } else { None }
    }
}

fn require_sequence<S: Shape>() -> Result<()> {
    if is_sequence::<S>() {
        Ok(())
    } else {
        Err(Error::Shape(format!(
            "a sequence batch needs a shape whose batch and steps are both `Dyn`, e.g. `(Dyn, Dyn, Const<12>)`; got {}",
            S::describe()
        )))
    }
}
