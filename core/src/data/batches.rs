//! An in-memory classification dataset and its seeded, shuffling batch iterator.

use crate::backend::{Backend, Elem};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Samples of `features` values each, with a class label per sample.
///
/// ```
/// use shapeflow_core::{Rng, data::Dataset};
/// let ds = Dataset::new(vec![0.0; 6], vec![0, 1, 0], 2).unwrap();
/// let sizes: Vec<usize> = ds.batches(2, &mut Rng::new(0)).map(|b| b.len()).collect();
/// assert_eq!(sizes, vec![2, 1]);
/// ```
#[derive(Clone, Debug)]
pub struct Dataset {
    inputs: Vec<f32>,
    labels: Vec<usize>,
    features: usize,
}

impl Dataset {
    /// A dataset; `inputs.len()` must be `labels.len() × features`.
    pub fn new(inputs: Vec<f32>, labels: Vec<usize>, features: usize) -> Result<Self> {
        let expected = labels.len() * features;
        if inputs.len() != expected {
            return Err(Error::Length {
                what: format!("dataset inputs ({} samples × {features} features)", labels.len()),
                expected,
                got: inputs.len(),
            });
        }
        Ok(Dataset { inputs, labels, features })
    }
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Values per sample.
    pub fn features(&self) -> usize {
        self.features
    }
    /// Standardises every input value: `(v − mean) / std` (MNIST's usual constants are
    /// 0.1307 and 0.3081).
    ///
    /// ```
    /// let mut ds = shapeflow_core::data::Dataset::new(vec![1.0, 3.0], vec![0, 1], 1).unwrap();
    /// ds.normalize(1.0, 2.0);
    /// assert_eq!(ds.batches_in_order(2).next().unwrap().inputs, vec![0.0, 1.0]);
    /// ```
    pub fn normalize(&mut self, mean: f32, std: f32) {
        let inv = 1.0 / std;
        self.inputs.iter_mut().for_each(|v| *v = (*v - mean) * inv);
    }
    /// All labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
    /// Batches in a fresh random order drawn from `rng` (the last one may be smaller).
    pub fn batches<'a>(&'a self, batch_size: usize, rng: &mut Rng) -> Batches<'a> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        rng.shuffle(&mut order);
        Batches { data: self, order, pos: 0, batch_size: batch_size.max(1) }
    }
    /// Batches in storage order (for evaluation).
    pub fn batches_in_order(&self, batch_size: usize) -> Batches<'_> {
        Batches {
            data: self,
            order: (0..self.len()).collect(),
            pos: 0,
            batch_size: batch_size.max(1),
        }
    }
}

/// Iterator over [`Batch`]es of a [`Dataset`].
pub struct Batches<'a> {
    data: &'a Dataset,
    order: Vec<usize>,
    pos: usize,
    batch_size: usize,
}

impl Batches<'_> {
    /// Number of batches left.
    pub fn remaining(&self) -> usize {
        (self.order.len() - self.pos).div_ceil(self.batch_size)
    }
}

impl Iterator for Batches<'_> {
    type Item = Batch;
    fn next(&mut self) -> Option<Batch> {
        if self.pos >= self.order.len() {
            return None;
        }
        let end = (self.pos + self.batch_size).min(self.order.len());
        let f = self.data.features;
        let mut inputs = Vec::with_capacity((end - self.pos) * f);
        let mut labels = Vec::with_capacity(end - self.pos);
        for &i in &self.order[self.pos..end] {
            inputs.extend_from_slice(&self.data.inputs[i * f..(i + 1) * f]);
            labels.push(self.data.labels[i]);
        }
        self.pos = end;
        Some(Batch { inputs, labels })
    }
}

/// One batch on the host: inputs (samples × features, row-major) and labels.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Input values, sample after sample.
    pub inputs: Vec<f32>,
    /// One class label per sample.
    pub labels: Vec<usize>,
}

impl Batch {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// The inputs as a tensor of shape `S` (its `Dyn` dimension set to the batch size); an `Err`
    /// when the sample size does not match `S`.
    ///
    /// ```
    /// use shapeflow_core::{Dyn, data::Dataset, Rng};
    /// use shapeflow_cpu::Cpu;
    /// let ds = Dataset::new(vec![0.5; 8], vec![0, 1], 4).unwrap();
    /// let b = ds.batches_in_order(2).next().unwrap();
    /// let x = b.inputs_tensor::<(Dyn, typenum::U4), Cpu>(&Cpu::default()).unwrap();
    /// assert_eq!(x.dims(), &[2, 4]);
    /// assert!(b.inputs_tensor::<(Dyn, typenum::U3), Cpu>(&Cpu::default()).is_err());
    /// ```
    pub fn inputs_tensor<S: Shape, B: Backend>(&self, dev: &B) -> Result<Tensor<S, B>> {
        let data: Vec<B::Elem> = self.inputs.iter().map(|&v| B::Elem::from_f64(v as f64)).collect();
        Tensor::from_batch(dev, self.len(), data)
    }
}
