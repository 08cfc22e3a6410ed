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
    /// Regression targets, `target_width` per sample (empty for classification).
    targets: Vec<f32>,
    target_width: usize,
    /// For a dataset of sequences: where each sample's values start in `inputs` (one entry
    /// per sample and one past the end); `features` is then the values per step.
    offsets: Option<Vec<usize>>,
    /// Labels per step (a language model's next tokens) rather than per sample.
    step_labels: bool,
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
        Ok(Dataset {
            inputs,
            labels,
            features,
            targets: Vec::new(),
            target_width: 0,
            offsets: None,
            step_labels: false,
        })
    }

    /// A regression dataset: `targets` holds `target_width` values per sample; labels are
    /// unused (all 0).
    ///
    /// ```
    /// let ds = shapeflow_core::data::Dataset::regression(vec![0.0; 4], vec![1.0, 2.0], 2, 1).unwrap();
    /// assert_eq!(ds.len(), 2);
    /// ```
    pub fn regression(
        inputs: Vec<f32>,
        targets: Vec<f32>,
        features: usize,
        target_width: usize,
    ) -> Result<Self> {
        let n = targets.len().checked_div(target_width).unwrap_or(0);
        if targets.len() != n * target_width || inputs.len() != n * features {
            return Err(Error::Length {
                what: format!("regression dataset ({n} samples × {features} features)"),
                expected: n * features,
                got: inputs.len(),
            });
        }
        Ok(Dataset {
            inputs,
            labels: vec![0; n],
            features,
            targets,
            target_width,
            offsets: None,
            step_labels: false,
        })
    }

    /// A dataset of sequences of different lengths, with a class label per sequence: sample
    /// `i` is `sequences[i]`, `steps_i × features` values. Batches of it become sequence
    /// tensors (`(Dyn, Dyn, Const<features>)`, padded, each sample's length kept).
    ///
    /// ```
    /// use shapeflow_core::{Dyn, Rng, data::Dataset};
    /// use shapeflow_cpu::Cpu;
    /// let ds = Dataset::sequences(vec![vec![1.0, 2.0, 3.0, 4.0], vec![5.0, 6.0]], vec![1, 0], 2).unwrap();
    /// assert_eq!((ds.len(), ds.steps(0), ds.steps(1)), (2, 2, 1));
    /// let batch = ds.batches_in_order(2).next().unwrap();
    /// let x = batch.inputs_tensor::<(Dyn, Dyn, typenum::U2), Cpu>(&Cpu::default()).unwrap();
    /// assert_eq!((x.dims(), batch.lengths()), (&[2usize, 2, 2][..], Some(vec![2, 1])));
    /// assert!(Dataset::sequences(vec![vec![1.0; 3]], vec![0], 2).is_err());
    /// ```
    pub fn sequences(
        sequences: Vec<Vec<f32>>,
        labels: Vec<usize>,
        features: usize,
    ) -> Result<Self> {
        if sequences.len() != labels.len() {
            return Err(Error::Length {
                what: "sequence labels (one per sequence)".into(),
                expected: sequences.len(),
                got: labels.len(),
            });
        }
        let mut offsets = vec![0];
        for (i, s) in sequences.iter().enumerate() {
            if s.is_empty() || features == 0 || s.len() % features != 0 {
                return Err(Error::Length {
                    what: format!(
                        "sequence {i}: a whole number (≥ 1) of steps of {features} values"
                    ),
                    expected: s.len().div_ceil(features.max(1)).max(1) * features,
                    got: s.len(),
                });
            }
            offsets.push(offsets[i] + s.len());
        }
        let inputs = sequences.concat();
        Ok(Dataset {
            inputs,
            labels,
            features,
            targets: Vec::new(),
            target_width: 0,
            offsets: Some(offsets),
            step_labels: false,
        })
    }

    /// A dataset of sequences with a class label per step (a language model's next tokens, a
    /// tagger's tags): `labels[i]` holds one label per step of `sequences[i]`. `fit` trains a
    /// model whose output is a sequence `[seq, classes]` on it, each valid step a row of the
    /// loss and the metrics (padded steps never counted).
    ///
    /// ```
    /// use shapeflow_core::data::Dataset;
    /// let ds = Dataset::sequences_with_step_labels(vec![vec![1.0, 2.0, 3.0], vec![4.0]], vec![vec![2, 3, 0], vec![1]], 1).unwrap();
    /// assert_eq!((ds.len(), ds.labels()), (2, &[2, 3, 0, 1][..]));
    /// let b = ds.batches_in_order(2).next().unwrap();
    /// assert_eq!((b.len(), b.samples(), b.lengths()), (4, 2, Some(vec![3, 1])));
    /// assert!(Dataset::sequences_with_step_labels(vec![vec![1.0, 2.0]], vec![vec![0]], 1).is_err());
    /// ```
    pub fn sequences_with_step_labels(
        sequences: Vec<Vec<f32>>,
        labels: Vec<Vec<usize>>,
        features: usize,
    ) -> Result<Self> {
        for (i, (s, l)) in sequences.iter().zip(&labels).enumerate() {
            if l.len() * features.max(1) != s.len() {
                return Err(Error::Length {
                    what: format!("labels of sequence {i} (one per step)"),
                    expected: s.len() / features.max(1),
                    got: l.len(),
                });
            }
        }
        let n = labels.len();
        let mut ds = Self::sequences(sequences, vec![0; n], features)?;
        ds.labels = labels.concat();
        ds.step_labels = true;
        Ok(ds)
    }

    /// Whether the labels are per step ([`Dataset::sequences_with_step_labels`]).
    pub fn has_step_labels(&self) -> bool {
        self.step_labels
    }

    /// Where the labels of sample `i` start (`i` from 0 to `len()`).
    fn label_start(&self, i: usize) -> usize {
        match (&self.offsets, self.step_labels) {
            (Some(o), true) => o[i] / self.features.max(1),
            _ => i,
        }
    }

    /// The labels of sample `i` (one, or one per step).
    fn label_range(&self, i: usize) -> std::ops::Range<usize> {
        self.label_start(i)..self.label_start(i + 1)
    }

    /// The values of sample `i`.
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.inputs[self.start(i)..self.start(i + 1)]
    }

    /// The number of steps of sample `i` (1 for a dataset of fixed-size samples).
    pub fn steps(&self, i: usize) -> usize {
        match &self.offsets {
            Some(o) => (o[i + 1] - o[i]) / self.features.max(1),
            None => 1,
        }
    }

    /// Whether the samples are sequences of their own lengths.
    pub fn is_sequences(&self) -> bool {
        self.offsets.is_some()
    }

    fn start(&self, i: usize) -> usize {
        match &self.offsets {
            Some(o) => o[i],
            None => i * self.features,
        }
    }

    /// Regression targets per sample (0 for a classification dataset).
    pub fn target_width(&self) -> usize {
        self.target_width
    }

    /// Splits off the last `fraction` of the samples (Keras's `validation_split`): returns
    /// `(train, validation)`.
    ///
    /// ```
    /// let ds = shapeflow_core::data::Dataset::new(vec![0.0; 10], (0..10).map(|i| i % 2).collect(), 1).unwrap();
    /// let (train, val) = ds.split(0.2);
    /// assert_eq!((train.len(), val.len()), (8, 2));
    /// ```
    pub fn split(&self, fraction: f64) -> (Dataset, Dataset) {
        let n = self.len();
        let n_val = ((n as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
        let cut = n - n_val;
        let part = |range: std::ops::Range<usize>| Dataset {
            inputs: self.inputs[self.start(range.start)..self.start(range.end)].to_vec(),
            offsets: self
                .offsets
                .as_ref()
                .map(|o| o[range.start..=range.end].iter().map(|&v| v - o[range.start]).collect()),
            labels: self.labels[self.label_start(range.start)..self.label_start(range.end)]
                .to_vec(),
            step_labels: self.step_labels,
            features: self.features,
            targets: if self.target_width == 0 {
                Vec::new()
            } else {
                self.targets[range.start * self.target_width..range.end * self.target_width]
                    .to_vec()
            },
            target_width: self.target_width,
        };
        (part(0..cut), part(cut..n))
    }
    /// The samples in a random order drawn from `rng` (inputs, labels and targets moved
    /// together): for files sorted by class before [`Dataset::split`].
    ///
    /// ```
    /// use shapeflow_core::{Rng, data::Dataset};
    /// let mut ds = Dataset::new((0..6).map(|v| v as f32).collect(), (0..6).collect(), 1).unwrap();
    /// ds.shuffle(&mut Rng::new(3));
    /// assert_ne!(ds.labels(), &[0, 1, 2, 3, 4, 5]);
    /// let batch = ds.batches_in_order(6).next().unwrap();
    /// let inputs: Vec<usize> = batch.inputs.iter().map(|&v| v as usize).collect();
    /// assert_eq!(inputs, batch.labels, "each sample keeps its label");
    /// ```
    pub fn shuffle(&mut self, rng: &mut Rng) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        rng.shuffle(&mut order);
        let pick = |v: &[f32], width: usize| -> Vec<f32> {
            order.iter().flat_map(|&i| v[i * width..(i + 1) * width].iter().copied()).collect()
        };
        let inputs: Vec<f32> = order.iter().flat_map(|&i| self.sample(i).iter().copied()).collect();
        if self.target_width > 0 {
            self.targets = pick(&self.targets, self.target_width);
        }
        self.labels =
            order.iter().flat_map(|&i| self.labels[self.label_range(i)].iter().copied()).collect();
        if let Some(o) = &self.offsets {
            let mut at = 0;
            let mut next = vec![0];
            for &i in &order {
                at += o[i + 1] - o[i];
                next.push(at);
            }
            self.offsets = Some(next);
        }
        self.inputs = inputs;
    }
    /// A shuffled split with a seed: a random `fraction` of the samples (drawn from
    /// `Rng::new(seed)`) as `(train, validation)`, each in the shuffled order. The same seed
    /// gives the same split.
    ///
    /// ```
    /// let ds = shapeflow_core::data::Dataset::new(vec![0.0; 10], (0..10).collect(), 1).unwrap();
    /// let (train, val) = ds.split_shuffled(0.3, 7);
    /// assert_eq!((train.len(), val.len()), (7, 3));
    /// assert_eq!(ds.split_shuffled(0.3, 7).1.labels(), val.labels());
    /// ```
    pub fn split_shuffled(&self, fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let mut all = self.clone();
        all.shuffle(&mut Rng::new(seed));
        all.split(fraction)
    }
    /// Every sample's input values, sample after sample (`len() × features()`).
    pub fn inputs(&self) -> &[f32] {
        &self.inputs
    }
    /// The input values, mutably (for transforms such as [`super::Standardizer`]).
    pub fn inputs_mut(&mut self) -> &mut [f32] {
        &mut self.inputs
    }
    /// Number of samples.
    pub fn len(&self) -> usize {
        match &self.offsets {
            Some(o) => o.len() - 1,
            None => self.labels.len(),
        }
    }
    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Values per sample.
    ///
    /// ```
    /// let ds = shapeflow_core::data::Dataset::new(vec![0.0; 6], vec![0, 1, 1], 2).unwrap();
    /// assert_eq!((ds.len(), ds.features(), ds.labels()), (3, 2, &[0usize, 1, 1][..]));
    /// ```
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
    ///
    /// ```
    /// use shapeflow_core::{Rng, data::Dataset};
    /// let ds = Dataset::new((0..8).map(|v| v as f32).collect(), (0..8).collect(), 1).unwrap();
    /// let first: Vec<usize> = ds.batches(4, &mut Rng::new(3)).next().unwrap().labels;
    /// assert_eq!(first.len(), 4);
    /// ```
    pub fn batches<'a>(&'a self, batch_size: usize, rng: &mut Rng) -> Batches<'a> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        rng.shuffle(&mut order);
        Batches { data: self, order, pos: 0, batch_size: batch_size.max(1) }
    }
    /// Batches of sequences of similar lengths, in a random order drawn from `rng`: the
    /// samples are shuffled, sorted by length within pools of 50 batches, cut into batches,
    /// and the batches shuffled, so little of each batch is padding. For fixed-size samples the
    /// same as [`Dataset::batches`].
    ///
    /// ```
    /// use shapeflow_core::{Rng, data::Dataset};
    /// let seqs: Vec<Vec<f32>> = (0..40).map(|i| vec![0.0; 1 + i % 10]).collect();
    /// let ds = Dataset::sequences(seqs, vec![0; 40], 1).unwrap();
    /// for b in ds.batches_by_length(4, &mut Rng::new(0)) {
    ///     let l = b.lengths().unwrap();
    ///     assert!(l.iter().max().unwrap() - l.iter().min().unwrap() <= 1);
    /// }
    /// ```
    pub fn batches_by_length<'a>(&'a self, batch_size: usize, rng: &mut Rng) -> Batches<'a> {
        let size = batch_size.max(1);
        let mut order: Vec<usize> = (0..self.len()).collect();
        rng.shuffle(&mut order);
        if self.offsets.is_none() {
            return Batches { data: self, order, pos: 0, batch_size: size };
        }
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for pool in order.chunks_mut(size * 50) {
            pool.sort_by_key(|&i| self.steps(i));
            batches.extend(pool.chunks(size).map(<[usize]>::to_vec));
        }
        rng.shuffle(&mut batches);
        Batches { data: self, order: batches.concat(), pos: 0, batch_size: size }
    }
    /// Batches in storage order (for evaluation).
    ///
    /// ```
    /// let ds = shapeflow_core::data::Dataset::new(vec![0.0; 3], vec![2, 0, 1], 1).unwrap();
    /// let labels: Vec<usize> = ds.batches_in_order(2).flat_map(|b| b.labels).collect();
    /// assert_eq!(labels, vec![2, 0, 1]);
    /// ```
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
        let tw = self.data.target_width;
        let mut inputs = Vec::with_capacity((end - self.pos) * f);
        let mut labels = Vec::with_capacity(end - self.pos);
        let mut targets = Vec::with_capacity((end - self.pos) * tw);
        let mut offsets = self.data.offsets.as_ref().map(|_| vec![0]);
        for &i in &self.order[self.pos..end] {
            inputs.extend_from_slice(self.data.sample(i));
            if let Some(o) = offsets.as_mut() {
                o.push(inputs.len());
            }
            labels.extend_from_slice(&self.data.labels[self.data.label_range(i)]);
            targets.extend_from_slice(&self.data.targets[i * tw..(i + 1) * tw]);
        }
        self.pos = end;
        let _ = f;
        Some(Batch { inputs, labels, targets, offsets, features: f })
    }
}

/// One batch on the host: inputs (samples × features, row-major) and labels.
#[derive(Clone, Debug)]
pub struct Batch {
    /// For a batch of sequences: where each sample's values start in `inputs`.
    pub offsets: Option<Vec<usize>>,
    /// Values per sample (per step, for sequences).
    pub features: usize,
    /// Input values, sample after sample.
    pub inputs: Vec<f32>,
    /// One class label per sample.
    pub labels: Vec<usize>,
    /// Regression targets (empty for classification).
    pub targets: Vec<f32>,
}

impl Batch {
    /// Every sample's input values, sample after sample (`len() × features()`).
    pub fn inputs(&self) -> &[f32] {
        &self.inputs
    }
    /// The input values, mutably (for transforms such as [`super::Standardizer`]).
    pub fn inputs_mut(&mut self) -> &mut [f32] {
        &mut self.inputs
    }
    /// Number of labels: the samples, or every valid step for per-step labels (the rows a
    /// loss averages over).
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Number of samples.
    pub fn samples(&self) -> usize {
        match &self.offsets {
            Some(o) => o.len() - 1,
            None => self.labels.len(),
        }
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
        let cast = |v: &[f32]| -> Vec<B::Elem> {
            v.iter().map(|&v| B::Elem::from_f64(v as f64)).collect()
        };
        match &self.offsets {
            Some(o) => {
                let samples: Vec<Vec<B::Elem>> =
                    o.windows(2).map(|w| cast(&self.inputs[w[0]..w[1]])).collect();
                Tensor::from_sequences(dev, &samples)
            }
            None => Tensor::from_batch(dev, self.len(), cast(&self.inputs)),
        }
    }

    /// Each sample's number of steps, for a batch of sequences.
    pub fn lengths(&self) -> Option<Vec<usize>> {
        let f = self.features.max(1);
        self.offsets.as_ref().map(|o| o.windows(2).map(|w| (w[1] - w[0]) / f).collect())
    }

    /// Rank `rank`'s part of this batch when `world` ranks share it: a contiguous run of
    /// samples, as even as possible (the first `samples % world` ranks take one more). `None`
    /// when there are fewer samples than ranks and this rank gets none.
    ///
    /// ```
    /// let ds = shapeflow_core::data::Dataset::new((0..5).map(|v| v as f32).collect(), (0..5).collect(), 1).unwrap();
    /// let b = ds.batches_in_order(5).next().unwrap();
    /// assert_eq!(b.shard(0, 2).unwrap().labels, [0, 1, 2]);
    /// assert_eq!(b.shard(1, 2).unwrap().inputs(), [3.0, 4.0]);
    /// assert!(b.shard(5, 6).is_none());
    /// ```
    pub fn shard(&self, rank: usize, world: usize) -> Option<Batch> {
        let (n, world) = (self.samples(), world.max(1));
        let (base, extra) = (n / world, n % world);
        let start = rank * base + rank.min(extra);
        let count = base + usize::from(rank < extra);
        if count == 0 || rank >= world {
            return None;
        }
        let samples = start..start + count;
        let f = self.features;
        let (inputs, offsets) = match &self.offsets {
            Some(o) => {
                let (a, b) = (o[samples.start], o[samples.end]);
                let offsets = o[samples.start..=samples.end].iter().map(|v| v - a).collect();
                (self.inputs[a..b].to_vec(), Some(offsets))
            }
            None => (self.inputs[samples.start * f..samples.end * f].to_vec(), None),
        };
        // Labels per sample, or per step (a language model's next tokens).
        let labels = if self.labels.len() == n {
            self.labels[samples.clone()].to_vec()
        } else {
            let steps = self.lengths().unwrap_or_default();
            let first: usize = steps[..samples.start].iter().sum();
            let len: usize = steps[samples.clone()].iter().sum();
            self.labels[first..first + len].to_vec()
        };
        let tw = self.targets.len().checked_div(n).unwrap_or(0);
        let targets = self.targets[samples.start * tw..samples.end * tw].to_vec();
        Some(Batch { inputs, labels, targets, offsets, features: f })
    }

    /// The regression targets as a tensor of shape `S`.
    pub fn targets_tensor<S: Shape, B: Backend>(&self, dev: &B) -> Result<Tensor<S, B>> {
        let data: Vec<B::Elem> =
            self.targets.iter().map(|&v| B::Elem::from_f64(v as f64)).collect();
        Tensor::from_batch(dev, self.len(), data)
    }
}
