//! Per-feature standardisation fitted on one dataset (the training set) and applied to others,
//! as scikit-learn's `StandardScaler`: `(v − mean[f]) / std[f]`.

use crate::error::{Error, Result};

use super::Dataset;

/// Each feature's mean and standard deviation (population, as `StandardScaler`), fitted on a
/// training set; a feature with no spread is only centred.
///
/// ```
/// use shapeflow_core::data::{Dataset, Standardizer};
/// let train = Dataset::new(vec![1.0, 10.0, 3.0, 30.0], vec![0, 1], 2).unwrap();
/// let s = Standardizer::fit(&train).unwrap();
/// assert_eq!((s.mean(), s.std()), (&[2.0, 20.0][..], &[1.0, 10.0][..]));
/// let mut test = Dataset::new(vec![2.0, 40.0], vec![0], 2).unwrap();
/// s.apply(&mut test).unwrap();
/// assert_eq!(test.inputs(), &[0.0, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Standardizer {
    /// Fits every feature's mean and standard deviation on `data` (accumulated in `f64`); an
    /// `Err` for an empty dataset or a non-finite value (naming sample and feature).
    pub fn fit(data: &Dataset) -> Result<Standardizer> {
        // Rows of `features` values: samples, or the steps of every sequence.
        let f = data.features().max(1);
        let n = data.inputs().len() / f;
        if n == 0 {
            return Err(Error::Shape("cannot fit a standardizer on an empty dataset".into()));
        }
        let x = data.inputs();
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite(format!(
                "input value {} of sample {} (feature {}) while fitting a standardizer",
                x[i],
                i / f,
                i % f
            )));
        }
        let mut mean = vec![0.0f64; f];
        for row in x.chunks_exact(f) {
            mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0f64; f];
        for row in x.chunks_exact(f) {
            var.iter_mut().zip(row.iter().zip(&mean)).for_each(|(s, (&v, m))| {
                *s += (v as f64 - m).powi(2);
            });
        }
        let std = var.iter().map(|s| (s / n as f64).sqrt() as f32).collect();
        Ok(Standardizer { mean: mean.into_iter().map(|m| m as f32).collect(), std })
    }

    /// Standardises `data` in place with the fitted statistics; an `Err` when its feature count
    /// differs from the fitted one.
    pub fn apply(&self, data: &mut Dataset) -> Result<()> {
        if data.features() != self.mean.len() {
            return Err(Error::Shape(format!(
                "the standardizer was fitted on {} features but the dataset has {}",
                self.mean.len(),
                data.features()
            )));
        }
        let f = self.mean.len();
        for row in data.inputs_mut().chunks_exact_mut(f) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = if *s > 0.0 { (*v - m) / s } else { *v - m };
            }
        }
        Ok(())
    }

    /// The fitted means, one per feature.
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// The fitted standard deviations, one per feature.
    pub fn std(&self) -> &[f32] {
        &self.std
    }
}
