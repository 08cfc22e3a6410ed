//! The optimizer family: fused parameter updates with PyTorch's rules.

use super::contract::{Need, check, contract};
use super::{Elem, Elementwise};

/// Hyper-parameters of one fused Adam/AdamW update (PyTorch's rules).
///
/// ```
/// let s = shapeflow_core::backend::AdamStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8,
///     weight_decay: 0.0, decoupled: false, step: 1 };
/// assert_eq!(s.step, 1);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// Weight decay (L2 for Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// `true` for AdamW's decoupled weight decay.
    pub decoupled: bool,
    /// The step number, starting at 1.
    pub step: u64,
}

/// Hyper-parameters of one fused SGD update (PyTorch's rules).
///
/// ```
/// let s = shapeflow_core::backend::SgdStep { lr: 0.1, momentum: 0.9, dampening: 0.0,
///     nesterov: false, weight_decay: 0.0, first: true };
/// assert!(s.first);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SgdStep {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 disables the buffer).
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// First step: the momentum buffer is initialised to the gradient.
    pub first: bool,
}

/// Hyper-parameters of one fused RMSprop update (PyTorch's rules).
///
/// ```
/// let s = shapeflow_core::backend::RmspropStep { lr: 0.01, alpha: 0.99, eps: 1e-8,
///     weight_decay: 0.0, momentum: 0.0, centered: false };
/// assert!(!s.centered);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RmspropStep {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the squared-gradient average.
    pub alpha: f64,
    /// Denominator epsilon (added after the square root).
    pub eps: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Momentum factor (0 disables the buffer).
    pub momentum: f64,
    /// Normalise by the variance estimate (subtracts the squared gradient average).
    pub centered: bool,
}

/// The state buffers of one RMSprop parameter.
///
/// ```
/// use shapeflow_core::backend::{Device, RmspropState};
/// let mut sq = shapeflow_cpu::Cpu::default().zeros(4);
/// let state = RmspropState { square_avg: &mut sq, grad_avg: None, momentum_buffer: None };
/// assert_eq!(state.square_avg.len(), 4);
/// ```
#[derive(Debug)]
pub struct RmspropState<'a, S> {
    /// Running average of squared gradients.
    pub square_avg: &'a mut S,
    /// Running average of gradients (`centered` only).
    pub grad_avg: Option<&'a mut S>,
    /// Momentum buffer (`momentum > 0` only).
    pub momentum_buffer: Option<&'a mut S>,
}

/// Hyper-parameters of one fused Adagrad update (PyTorch's rules).
///
/// ```
/// let s = shapeflow_core::backend::AdagradStep { lr: 0.01, lr_decay: 0.0, eps: 1e-10,
///     weight_decay: 0.0, step: 1 };
/// assert_eq!(s.step, 1);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AdagradStep {
    /// Learning rate.
    pub lr: f64,
    /// Learning-rate decay: the step uses `lr / (1 + (step − 1) · lr_decay)`.
    pub lr_decay: f64,
    /// Denominator epsilon (added after the square root).
    pub eps: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// The step number, starting at 1.
    pub step: u64,
}

/// Fused optimizer updates, one parameter buffer at a time.
///
/// ```
/// use shapeflow_core::backend::{Device, Optim, SgdStep};
/// use shapeflow_cpu::Cpu;
/// let (mut p, g) = (Cpu::default().upload(&[1.0]), Cpu::default().upload(&[0.5]));
/// let hp = SgdStep { lr: 0.1, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, first: true };
/// Cpu::sgd_step(&mut p, &g, None, hp);
/// assert_eq!(Cpu::to_host(&p), vec![0.95]);
/// ```
pub trait Optim: Elementwise {
    /// One fused Adam/AdamW update of `p` with gradient `g` and moments `m`, `v`.
    #[track_caller]
    fn adam_step(
        p: &mut Self::Storage,
        g: &Self::Storage,
        m: &mut Self::Storage,
        v: &mut Self::Storage,
        hp: AdamStep,
    ) {
        contract!("Optim::adam_step"; g => exactly(Self::len(p)), m => exactly(Self::len(p)), v => exactly(Self::len(p)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::adam_step_unchecked(p, g, m, v, hp) }
    }

    /// The kernel behind [`Optim::adam_step`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Optim::adam_step`] checks.
    unsafe fn adam_step_unchecked(
        p: &mut Self::Storage,
        g: &Self::Storage,
        m: &mut Self::Storage,
        v: &mut Self::Storage,
        hp: AdamStep,
    );
    /// One fused SGD update of `p` with gradient `g` and momentum buffer `buf` (`None` when
    /// momentum is 0). Defaults to [`sgd_step_composed`].
    #[track_caller]
    fn sgd_step(
        p: &mut Self::Storage,
        g: &Self::Storage,
        buf: Option<&mut Self::Storage>,
        hp: SgdStep,
    ) {
        contract!("Optim::sgd_step"; g => exactly(Self::len(p)));
        if let Some(buf) = buf.as_deref() {
            contract!("Optim::sgd_step"; buf => exactly(Self::len(p)));
        }
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::sgd_step_unchecked(p, g, buf, hp) }
    }

    /// The kernel behind [`Optim::sgd_step`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Optim::sgd_step`] checks.
    unsafe fn sgd_step_unchecked(
        p: &mut Self::Storage,
        g: &Self::Storage,
        buf: Option<&mut Self::Storage>,
        hp: SgdStep,
    ) {
        sgd_step_composed::<Self>(p, g, buf, hp);
    }
    /// One fused RMSprop update of `p` with gradient `g`.
    #[track_caller]
    fn rmsprop_step(
        p: &mut Self::Storage,
        g: &Self::Storage,
        state: RmspropState<'_, Self::Storage>,
        hp: RmspropStep,
    ) {
        contract!("Optim::rmsprop_step"; g => exactly(Self::len(p)), state.square_avg => exactly(Self::len(p)));
        for (name, buf) in [
            ("state.grad_avg", state.grad_avg.as_deref()),
            ("state.momentum_buffer", state.momentum_buffer.as_deref()),
        ] {
            if let Some(buf) = buf {
                check(
                    "Optim::rmsprop_step",
                    None,
                    &[Need::exactly(name, Self::len(buf), Self::len(p))],
                );
            }
        }
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::rmsprop_step_unchecked(p, g, state, hp) }
    }

    /// The kernel behind [`Optim::rmsprop_step`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Optim::rmsprop_step`] checks.
    unsafe fn rmsprop_step_unchecked(
        p: &mut Self::Storage,
        g: &Self::Storage,
        state: RmspropState<'_, Self::Storage>,
        hp: RmspropStep,
    );
    /// One fused Adagrad update of `p` with gradient `g` and the squared-gradient sum `sum`.
    #[track_caller]
    fn adagrad_step(
        p: &mut Self::Storage,
        g: &Self::Storage,
        sum: &mut Self::Storage,
        hp: AdagradStep,
    ) {
        contract!("Optim::adagrad_step"; g => exactly(Self::len(p)), sum => exactly(Self::len(p)));
        // SAFETY: every buffer and index was just checked against the call's sizes.
        unsafe { Self::adagrad_step_unchecked(p, g, sum, hp) }
    }

    /// The kernel behind [`Optim::adagrad_step`], called once the sizes are checked.
    ///
    /// # Safety
    /// Every buffer and index meets what [`Optim::adagrad_step`] checks.
    unsafe fn adagrad_step_unchecked(
        p: &mut Self::Storage,
        g: &Self::Storage,
        sum: &mut Self::Storage,
        hp: AdagradStep,
    );
}

/// [`Optim::sgd_step`] composed from [`Elementwise::axpy`] and [`Elementwise::scale`] (PyTorch's
/// rule: `d = g + wd·p`; `buf = d` on the first step, else `momentum·buf + (1 − dampening)·d`;
/// the step is `buf`, or `d + momentum·buf` with Nesterov; `p −= lr·step`). What a new backend
/// gets before it writes a fused kernel.
///
/// ```
/// use shapeflow_core::backend::{Device, SgdStep, sgd_step_composed};
/// use shapeflow_cpu::Cpu64;
/// let (mut p, g) = (Cpu64::default().upload(&[1.0]), Cpu64::default().upload(&[0.5]));
/// let hp = SgdStep { lr: 0.1, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, first: true };
/// sgd_step_composed::<Cpu64>(&mut p, &g, None, hp);
/// assert_eq!(Cpu64::to_host(&p), vec![0.95]);
/// ```
pub fn sgd_step_composed<B: Optim>(
    p: &mut B::Storage,
    g: &B::Storage,
    buf: Option<&mut B::Storage>,
    hp: SgdStep,
) {
    let e = B::Elem::from_f64;
    let mut d = g.clone();
    if hp.weight_decay != 0.0 {
        B::axpy(e(hp.weight_decay), p, &mut d);
    }
    let step = match buf {
        None => d,
        Some(buf) => {
            if hp.first {
                *buf = d.clone();
            } else {
                B::scale(buf, e(hp.momentum));
                B::axpy(e(1.0 - hp.dampening), &d, buf);
            }
            if hp.nesterov {
                B::axpy(e(hp.momentum), buf, &mut d);
                d
            } else {
                buf.clone()
            }
        }
    };
    B::axpy(e(-hp.lr), &step, p);
}
