//! `impl Optim for CpuDevice`: fused optimizer kernels (Adam/AdamW, SGD, RMSprop, Adagrad),
//! PyTorch's formulas.

use shapeflow_core::Elem;
use shapeflow_core::backend::{AdagradStep, AdamStep, Optim, RmspropState, RmspropStep, SgdStep};

use crate::{CpuBuf, CpuDevice, CpuElem};

impl<E: CpuElem> Optim for CpuDevice<E> {
    unsafe fn adam_step_unchecked(
        p: &mut CpuBuf<E>,
        g: &CpuBuf<E>,
        m: &mut CpuBuf<E>,
        v: &mut CpuBuf<E>,
        hp: AdamStep,
    ) {
        adam_step(p, g, m, v, hp);
    }
    unsafe fn sgd_step_unchecked(
        p: &mut CpuBuf<E>,
        g: &CpuBuf<E>,
        buf: Option<&mut CpuBuf<E>>,
        hp: SgdStep,
    ) {
        sgd_step(p, g, buf.map(|b| &mut b[..]), hp);
    }
    unsafe fn rmsprop_step_unchecked(
        p: &mut CpuBuf<E>,
        g: &CpuBuf<E>,
        state: RmspropState<'_, CpuBuf<E>>,
        hp: RmspropStep,
    ) {
        rmsprop_step(p, g, state, hp);
    }
    unsafe fn adagrad_step_unchecked(
        p: &mut CpuBuf<E>,
        g: &CpuBuf<E>,
        sum: &mut CpuBuf<E>,
        hp: AdagradStep,
    ) {
        adagrad_step(p, g, sum, hp);
    }
}

/// Parameters at least this large are updated by all threads, in chunks.
const PARALLEL_MIN: usize = 1 << 16;
const CHUNK: usize = 1 << 14;

/// One Adam/AdamW update, single pass over the parameter (chunks in parallel when large).
fn adam_step<E: Elem>(p: &mut [E], g: &[E], m: &mut [E], v: &mut [E], hp: AdamStep) {
    use rayon::prelude::*;
    if p.len() >= PARALLEL_MIN && g.len() == p.len() && m.len() == p.len() && v.len() == p.len() {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), m), v)| adam_chunk(p, g, m, v, hp));
    } else {
        adam_chunk(p, g, m, v, hp);
    }
}

fn adam_chunk<E: Elem>(p: &mut [E], g: &[E], m: &mut [E], v: &mut [E], hp: AdamStep) {
    let t = hp.step as i32;
    let bc1 = 1.0 - hp.beta1.powi(t);
    let bc2 = 1.0 - hp.beta2.powi(t);
    let step_size = E::from_f64(hp.lr / bc1);
    let bc2_sqrt = E::from_f64(bc2.sqrt());
    let (b1, b2) = (E::from_f64(hp.beta1), E::from_f64(hp.beta2));
    let (one_b1, one_b2) = (E::from_f64(1.0 - hp.beta1), E::from_f64(1.0 - hp.beta2));
    let eps = E::from_f64(hp.eps);
    let wd = E::from_f64(hp.weight_decay);
    let decay = E::from_f64(1.0 - hp.lr * hp.weight_decay);
    let l2 = hp.weight_decay != 0.0 && !hp.decoupled;
    let decoupled = hp.weight_decay != 0.0 && hp.decoupled;
    for (((pi, &gi), mi), vi) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let grad = if l2 { gi + wd * *pi } else { gi };
        if decoupled {
            *pi = *pi * decay;
        }
        *mi = b1 * *mi + one_b1 * grad;
        *vi = b2 * *vi + one_b2 * grad * grad;
        let denom = vi.sqrt() / bc2_sqrt + eps;
        *pi = *pi - step_size * (*mi / denom);
    }
}

/// One SGD update with optional momentum buffer (PyTorch: the buffer starts as the gradient).
fn sgd_step<E: Elem>(p: &mut [E], g: &[E], buf: Option<&mut [E]>, hp: SgdStep) {
    let lr = E::from_f64(hp.lr);
    let wd = E::from_f64(hp.weight_decay);
    let mom = E::from_f64(hp.momentum);
    let damp = E::from_f64(1.0 - hp.dampening);
    match buf {
        None => {
            for (pi, &gi) in p.iter_mut().zip(g) {
                let d = gi + wd * *pi;
                *pi = *pi - lr * d;
            }
        }
        Some(buf) => {
            for ((pi, &gi), bi) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                let d = gi + wd * *pi;
                *bi = if hp.first { d } else { mom * *bi + damp * d };
                let step = if hp.nesterov { d + mom * *bi } else { *bi };
                *pi = *pi - lr * step;
            }
        }
    }
}

/// One RMSprop update (PyTorch: `v = αv + (1−α)g²`; centered: `v − ḡ²`; the step
/// `g / (√v + eps)`, through the momentum buffer when there is one).
fn rmsprop_step<E: CpuElem>(
    p: &mut [E],
    g: &[E],
    state: RmspropState<'_, CpuBuf<E>>,
    hp: RmspropStep,
) {
    let RmspropState { square_avg, mut grad_avg, mut momentum_buffer } = state;
    let (a, wd) = (hp.alpha, hp.weight_decay);
    for i in 0..p.len().min(g.len()).min(square_avg.len()) {
        let grad = g[i].as_f64() + wd * p[i].as_f64();
        let v = a * square_avg[i].as_f64() + (1.0 - a) * grad * grad;
        square_avg[i] = E::from_f64(v);
        let centered = match grad_avg.as_deref_mut() {
            Some(ga) if hp.centered => {
                let m = a * ga[i].as_f64() + (1.0 - a) * grad;
                ga[i] = E::from_f64(m);
                v - m * m
            }
            _ => v,
        };
        let step = grad / (centered.sqrt() + hp.eps);
        let step = match momentum_buffer.as_deref_mut() {
            Some(buf) if hp.momentum > 0.0 => {
                let b = hp.momentum * buf[i].as_f64() + step;
                buf[i] = E::from_f64(b);
                b
            }
            _ => step,
        };
        p[i] = E::from_f64(p[i].as_f64() - hp.lr * step);
    }
}

/// One Adagrad update (PyTorch: `sum += g²`, `p −= clr · g / (√sum + eps)` with
/// `clr = lr / (1 + (step − 1)·lr_decay)`).
fn adagrad_step<E: Elem>(p: &mut [E], g: &[E], sum: &mut [E], hp: AdagradStep) {
    let clr = hp.lr / (1.0 + (hp.step.saturating_sub(1)) as f64 * hp.lr_decay);
    for ((pi, &gi), si) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
        let grad = gi.as_f64() + hp.weight_decay * pi.as_f64();
        let s = si.as_f64() + grad * grad;
        *si = E::from_f64(s);
        *pi = E::from_f64(pi.as_f64() - clr * grad / (s.sqrt() + hp.eps));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_adam_equals_the_serial_update() {
        let n = PARALLEL_MIN * 2 + 123;
        let init: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let g: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let hp = AdamStep {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.1,
            decoupled: true,
            step: 3,
        };
        let (mut p1, mut m1, mut v1) = (init.clone(), vec![0.1f32; n], vec![0.2f32; n]);
        let (mut p2, mut m2, mut v2) = (init, vec![0.1f32; n], vec![0.2f32; n]);
        adam_step(&mut p1, &g, &mut m1, &mut v1, hp);
        adam_chunk(&mut p2, &g, &mut m2, &mut v2, hp);
        assert_eq!((p1, m1, v1), (p2, m2, v2));
    }
}
