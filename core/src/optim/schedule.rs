//! Learning-rate schedules with PyTorch's formulas: step, exponential, cosine annealing, linear
//! warm-up and one-cycle. A schedule maps `(base_lr, step)` to a learning rate; `step` counts
//! scheduler steps (epochs for most, batches for one-cycle), starting at 0.

use std::f64::consts::PI;

/// A learning-rate schedule.
///
/// ```
/// use shapeflow_core::optim::{LrSchedule, StepLr};
/// let s = StepLr { step_size: 2, gamma: 0.1 };
/// assert_eq!(s.lr(1.0, 0), 1.0);
/// assert!((s.lr(1.0, 2) - 0.1).abs() < 1e-12);
/// ```
pub trait LrSchedule: Send {
    /// The learning rate after `step` scheduler steps.
    fn lr(&self, base_lr: f64, step: usize) -> f64;
}

/// `base · gamma^⌊step / step_size⌋` (PyTorch's `StepLR`).
#[derive(Clone, Copy, Debug)]
///
/// ```
/// use shapeflow_core::optim::{LrSchedule, StepLr};
/// let s = StepLr { step_size: 30, gamma: 0.1 };
/// assert!((s.lr(0.1, 30) - 0.01).abs() < 1e-12);
/// ```
pub struct StepLr {
    /// Steps between decays.
    pub step_size: usize,
    /// Decay factor.
    pub gamma: f64,
}

impl LrSchedule for StepLr {
    fn lr(&self, base: f64, step: usize) -> f64 {
        base * self.gamma.powi((step / self.step_size.max(1)) as i32)
    }
}

/// `base · gamma^step` (PyTorch's `ExponentialLR`).
///
/// ```
/// use shapeflow_core::optim::{ExponentialLr, LrSchedule};
/// assert!((ExponentialLr { gamma: 0.5 }.lr(1.0, 3) - 0.125).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ExponentialLr {
    /// Decay factor per step.
    pub gamma: f64,
}

impl LrSchedule for ExponentialLr {
    fn lr(&self, base: f64, step: usize) -> f64 {
        base * self.gamma.powi(step as i32)
    }
}

/// `eta_min + (base − eta_min)·(1 + cos(π·step/t_max))/2` (PyTorch's `CosineAnnealingLR`).
///
/// ```
/// use shapeflow_core::optim::{CosineAnnealingLr, LrSchedule};
/// let s = CosineAnnealingLr { t_max: 10, eta_min: 0.0 };
/// assert!((s.lr(1.0, 5) - 0.5).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CosineAnnealingLr {
    /// Steps of half a cosine period.
    pub t_max: usize,
    /// The minimum learning rate.
    pub eta_min: f64,
}

impl LrSchedule for CosineAnnealingLr {
    fn lr(&self, base: f64, step: usize) -> f64 {
        let t = step as f64 / self.t_max.max(1) as f64;
        self.eta_min + (base - self.eta_min) * (1.0 + (PI * t).cos()) / 2.0
    }
}

/// Linear warm-up: the factor goes from `start_factor` to `end_factor` over `total_iters` steps,
/// then stays (PyTorch's `LinearLR`).
///
/// ```
/// use shapeflow_core::optim::{LinearLr, LrSchedule};
/// let s = LinearLr { start_factor: 0.5, end_factor: 1.0, total_iters: 2 };
/// assert_eq!([s.lr(1.0, 0), s.lr(1.0, 1), s.lr(1.0, 9)], [0.5, 0.75, 1.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LinearLr {
    /// Factor at step 0.
    pub start_factor: f64,
    /// Factor from `total_iters` on.
    pub end_factor: f64,
    /// Length of the ramp.
    pub total_iters: usize,
}

impl LrSchedule for LinearLr {
    fn lr(&self, base: f64, step: usize) -> f64 {
        let t = step.min(self.total_iters) as f64 / self.total_iters.max(1) as f64;
        base * (self.start_factor + (self.end_factor - self.start_factor) * t)
    }
}

/// The one-cycle policy (PyTorch's `OneCycleLR` with cosine annealing, two phases, no momentum
/// cycling): from `max_lr / div_factor` up to `max_lr` over the first `pct_start` of
/// `total_steps`, then down to `max_lr / (div_factor · final_div_factor)`. Ignores `base_lr`.
///
/// ```
/// use shapeflow_core::optim::{LrSchedule, OneCycleLr};
/// let s = OneCycleLr::new(1.0, 100);
/// assert!((s.lr(0.0, 0) - 0.04).abs() < 1e-12);
/// assert!(s.lr(0.0, 29) > 0.99);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct OneCycleLr {
    /// Peak learning rate.
    pub max_lr: f64,
    /// Steps in the cycle.
    pub total_steps: usize,
    /// Fraction of the cycle spent increasing.
    pub pct_start: f64,
    /// `initial_lr = max_lr / div_factor`.
    pub div_factor: f64,
    /// `min_lr = initial_lr / final_div_factor`.
    pub final_div_factor: f64,
}

impl OneCycleLr {
    /// PyTorch's defaults: `pct_start` 0.3, `div_factor` 25, `final_div_factor` 1e4.
    pub fn new(max_lr: f64, total_steps: usize) -> Self {
        OneCycleLr { max_lr, total_steps, pct_start: 0.3, div_factor: 25.0, final_div_factor: 1e4 }
    }
}

fn cos_anneal(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
}

impl LrSchedule for OneCycleLr {
    fn lr(&self, _: f64, step: usize) -> f64 {
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let warm_end = self.pct_start * self.total_steps as f64 - 1.0;
        let last = self.total_steps as f64 - 1.0;
        let t = step as f64;
        if t <= warm_end {
            cos_anneal(initial, self.max_lr, t / warm_end.max(f64::MIN_POSITIVE))
        } else {
            cos_anneal(self.max_lr, min, (t - warm_end) / (last - warm_end).max(f64::MIN_POSITIVE))
        }
    }
}
