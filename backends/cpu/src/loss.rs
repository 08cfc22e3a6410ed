//! Loss kernels: nll_sum, softmax_minus_onehot (cross-entropy gradient), neg_onehot, bce_with_logits.

use shapeflow_core::Elem;

/// Σ_r −logp[r, labels[r]].
pub(crate) fn nll_sum<E: Elem>(logp: &[E], labels: &[usize], rows: usize, cols: usize) -> f64 {
    (0..rows).filter_map(|r| logp.get(r * cols + *labels.get(r)?)).map(|v| -v.as_f64()).sum()
}

/// `dx = scale·(e^logp − onehot)`.
pub(crate) fn softmax_minus_onehot<E: Elem>(
    logp: &[E],
    labels: &[usize],
    dx: &mut [E],
    rows: usize,
    cols: usize,
    scale: E,
) {
    for (o, &v) in dx.iter_mut().zip(logp) {
        *o = v.exp() * scale;
    }
    for (r, &l) in labels.iter().enumerate().take(rows) {
        if let Some(o) = dx.get_mut(r * cols + l) {
            *o = *o - scale;
        }
    }
}

/// `dx = −scale·onehot`.
pub(crate) fn neg_onehot<E: Elem>(
    labels: &[usize],
    dx: &mut [E],
    rows: usize,
    cols: usize,
    scale: E,
) {
    dx.iter_mut().for_each(|v| *v = E::zero());
    for (r, &l) in labels.iter().enumerate().take(rows) {
        if let Some(o) = dx.get_mut(r * cols + l) {
            *o = -scale;
        }
    }
}

/// Σ max(x,0) − x·t + ln(1+e^−|x|), and `grad = scale·(σ(x) − t)`.
pub(crate) fn bce_with_logits<E: Elem>(x: &[E], t: &[E], grad: &mut [E], scale: E) -> f64 {
    let mut total = 0.0f64;
    for ((g, &xv), &tv) in grad.iter_mut().zip(x).zip(t) {
        let xf = xv.as_f64();
        let tf = tv.as_f64();
        total += xf.max(0.0) - xf * tf + (-xf.abs()).exp().ln_1p();
        let sig = if xf >= 0.0 { 1.0 / (1.0 + (-xf).exp()) } else { xf.exp() / (1.0 + xf.exp()) };
        *g = E::from_f64(sig - tf) * scale;
    }
    total
}
