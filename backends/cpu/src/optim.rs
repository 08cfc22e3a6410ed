//! Fused optimizer kernels: adam_step (Adam/AdamW) and sgd_step, PyTorch's formulas.

use shapeflow_core::Elem;
use shapeflow_core::backend::{AdamStep, SgdStep};

/// One Adam/AdamW update, single pass over the parameter.
pub(crate) fn adam_step<E: Elem>(p: &mut [E], g: &[E], m: &mut [E], v: &mut [E], hp: AdamStep) {
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
