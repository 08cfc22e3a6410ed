//! Reductions over the steps of a sequence batch, each sample over its own length:
//! `LastStep` (the last valid step) and `MeanOverTime` (the mean of the valid steps),
//! `[batch, steps, F]` → `[batch, F]`.

use crate::backend::{Backend, Joined, StepBatch};
use crate::dim::{Dim, StaticDim};
use crate::error::{Error, Result};
use crate::layer::{Init, Layer};
use crate::layers::recurrent::dims;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Each sample's last valid step: `y[b] = x[b, len_b − 1]`. For the output of a
/// bidirectional recurrent layer (`bidirectional: true`) the second half of the features is
/// taken at the first step instead, where the reverse direction ends: PyTorch's `h_n` of the
/// last layer, both directions concatenated.
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor};
/// use shapeflow_core::layers::LastStep;
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let x = Tensor::<(Dyn, Dyn, typenum::U1), Cpu>::from_sequences(&dev, &[vec![1.0, 2.0, 3.0], vec![4.0]]).unwrap();
/// assert_eq!(LastStep::default().forward(&x).to_vec(), vec![3.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LastStep {
    /// Take the second half of the features at the first step.
    pub bidirectional: bool,
}

/// The mean of each sample's valid steps.
///
/// ```
/// use shapeflow_core::{Dyn, Layer, Tensor};
/// use shapeflow_core::layers::MeanOverTime;
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let x = Tensor::<(Dyn, Dyn, typenum::U1), Cpu>::from_sequences(&dev, &[vec![1.0, 2.0, 3.0], vec![4.0]]).unwrap();
/// assert_eq!(MeanOverTime.forward(&x).to_vec(), vec![2.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanOverTime;

crate::impl_module_without_params!(LastStep, MeanOverTime);

impl<B: Backend> Init<B> for LastStep {
    fn init(_: &B, _: &mut Rng) -> Self {
        LastStep::default()
    }
}

impl<B: Backend> Init<B> for MeanOverTime {
    fn init(_: &B, _: &mut Rng) -> Self {
        MeanOverTime
    }
}

/// The sizes and lengths a time reduction's backward needs.
pub struct TimePoolCache {
    lengths: Vec<usize>,
    kept: Option<crate::seq::Lengths>,
    batch: usize,
    steps: usize,
}

fn cache_of<S: crate::shape::Shape, B: Backend>(x: &Tensor<S, B>) -> TimePoolCache {
    TimePoolCache {
        lengths: x.step_lengths(),
        kept: x.lengths().cloned(),
        batch: x.dims()[0],
        steps: x.dims()[1],
    }
}

fn check_dy(what: &str, dy: &[usize], c: &TimePoolCache, f: usize) -> Result<()> {
    if dy != [c.batch, f] {
        return Err(Error::Shape(format!(
            "{what} backward: the output gradient has sizes {dy:?} but the forward pass produced [{}, {f}]",
            c.batch
        )));
    }
    Ok(())
}

impl LastStep {
    /// The row of each sample's last step, and of its first.
    fn rows(c: &TimePoolCache) -> (Vec<usize>, Vec<usize>) {
        let last = c.lengths.iter().enumerate().map(|(b, &l)| b * c.steps + l.max(1) - 1).collect();
        let first = (0..c.batch).map(|b| b * c.steps).collect();
        (last, first)
    }
}

impl<N: Dim, T: Dim, F: StaticDim, B: Backend> Layer<(N, T, F), B> for LastStep {
    type Output = (N, F);
    type Cache = TimePoolCache;

    fn forward(&self, x: &Tensor<(N, T, F), B>) -> Tensor<(N, F), B> {
        self.forward_with(x, &cache_of(x))
    }

    fn forward_train(&mut self, x: &Tensor<(N, T, F), B>) -> (Tensor<(N, F), B>, TimePoolCache) {
        let c = cache_of(x);
        (self.forward_with(x, &c), c)
    }

    fn backward(
        &self,
        c: &TimePoolCache,
        dy: &Tensor<(N, F), B>,
    ) -> Result<(Tensor<(N, T, F), B>, Self)> {
        check_dy("LastStep", dy.dims(), c, F::N)?;
        let (last, first) = Self::rows(c);
        let mut dx = dy.zeros_on::<(N, T, F)>(dims(&[c.batch, c.steps, F::N]));
        if self.bidirectional {
            let half = F::N / 2;
            let j = Joined { rows: c.batch, left: half, right: F::N - half };
            let mut a = B::scratch_like(dy.storage(), c.batch * half);
            let mut b = B::scratch_like(dy.storage(), c.batch * (F::N - half));
            B::split_rows(dy.storage(), &mut a, &mut b, j);
            let za = B::zeros_like(dy.storage(), c.batch * half);
            let zb = B::zeros_like(dy.storage(), c.batch * (F::N - half));
            let mut fwd = B::scratch_like(dy.storage(), c.batch * F::N);
            let mut rev = B::scratch_like(dy.storage(), c.batch * F::N);
            B::concat_rows(&a, &zb, &mut fwd, j);
            B::concat_rows(&za, &b, &mut rev, j);
            B::scatter_add_rows(&fwd, &last, dx.storage_mut(), F::N);
            B::scatter_add_rows(&rev, &first, dx.storage_mut(), F::N);
        } else {
            B::scatter_add_rows(dy.storage(), &last, dx.storage_mut(), F::N);
        }
        dx.lengths = c.kept.clone();
        Ok((dx, *self))
    }
}

impl LastStep {
    fn forward_with<N: Dim, T: Dim, F: StaticDim, B: Backend>(
        &self,
        x: &Tensor<(N, T, F), B>,
        c: &TimePoolCache,
    ) -> Tensor<(N, F), B> {
        let (last, first) = Self::rows(c);
        let mut y = x.scratch_on::<(N, F)>(dims(&[c.batch, F::N]));
        B::gather_rows(x.storage(), &last, y.storage_mut(), F::N);
        if self.bidirectional {
            let half = F::N / 2;
            let j = Joined { rows: c.batch, left: half, right: F::N - half };
            let mut at0 = B::scratch_like(x.storage(), c.batch * F::N);
            B::gather_rows(x.storage(), &first, &mut at0, F::N);
            let (mut a, mut b) = (
                B::scratch_like(&at0, c.batch * half),
                B::scratch_like(&at0, c.batch * (F::N - half)),
            );
            let (mut a0, mut b0) = (
                B::scratch_like(&at0, c.batch * half),
                B::scratch_like(&at0, c.batch * (F::N - half)),
            );
            B::split_rows(y.storage(), &mut a, &mut b, j);
            B::split_rows(&at0, &mut a0, &mut b0, j);
            B::concat_rows(&a, &b0, y.storage_mut(), j);
        }
        y
    }
}

impl<N: Dim, T: Dim, F: StaticDim, B: Backend> Layer<(N, T, F), B> for MeanOverTime {
    type Output = (N, F);
    type Cache = TimePoolCache;

    fn forward(&self, x: &Tensor<(N, T, F), B>) -> Tensor<(N, F), B> {
        let c = cache_of(x);
        let mut y = x.scratch_on::<(N, F)>(dims(&[c.batch, F::N]));
        B::mean_steps(
            x.storage(),
            y.storage_mut(),
            &c.lengths,
            StepBatch { batch: c.batch, steps: c.steps, width: F::N },
        );
        y
    }

    fn forward_train(&mut self, x: &Tensor<(N, T, F), B>) -> (Tensor<(N, F), B>, TimePoolCache) {
        (Layer::<(N, T, F), B>::forward(self, x), cache_of(x))
    }

    fn backward(
        &self,
        c: &TimePoolCache,
        dy: &Tensor<(N, F), B>,
    ) -> Result<(Tensor<(N, T, F), B>, Self)> {
        check_dy("MeanOverTime", dy.dims(), c, F::N)?;
        let mut dx = dy.scratch_on::<(N, T, F)>(dims(&[c.batch, c.steps, F::N]));
        B::mean_steps_backward(
            dy.storage(),
            dx.storage_mut(),
            &c.lengths,
            StepBatch { batch: c.batch, steps: c.steps, width: F::N },
        );
        dx.lengths = c.kept.clone();
        Ok((dx, MeanOverTime))
    }
}
