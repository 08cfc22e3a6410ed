//! Fused optimizer kernels: adam_step (Adam/AdamW) and sgd_step, PyTorch's formulas.

use shapeflow_core::Elem;
use shapeflow_core::backend::{AdamStep, SgdStep};

/// Parameters at least this large are updated by all threads, in chunks.
const PARALLEL_MIN: usize = 1 << 16;
const CHUNK: usize = 1 << 14;

/// One Adam/AdamW update, single pass over the parameter (chunks in parallel when large).
pub(crate) fn adam_step<E: Elem>(p: &mut [E], g: &[E], m: &mut [E], v: &mut [E], hp: AdamStep) {
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
pub(crate) fn sgd_step<E: Elem>(p: &mut [E], g: &[E], buf: Option<&mut [E]>, hp: SgdStep) {
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
