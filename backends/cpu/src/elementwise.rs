//! Elementwise kernels: mul, sub, axpy, scale, sum, sum_squares.

use shapeflow_core::Elem;

/// `out = a ⊙ b`.
pub(crate) fn mul<E: Elem>(a: &[E], b: &[E], out: &mut [E]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x * y;
    }
}

/// `out = a − b`.
pub(crate) fn sub<E: Elem>(a: &[E], b: &[E], out: &mut [E]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x - y;
    }
}

/// `y += alpha·x`.
pub(crate) fn axpy<E: Elem>(alpha: E, x: &[E], y: &mut [E]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = *o + alpha * v;
    }
}

/// `x *= alpha`.
pub(crate) fn scale<E: Elem>(x: &mut [E], alpha: E) {
    x.iter_mut().for_each(|v| *v = *v * alpha);
}

/// Σ x, accumulated in f64.
pub(crate) fn sum<E: Elem>(x: &[E]) -> f64 {
    x.iter().map(|v| v.as_f64()).sum()
}

/// Σ x², accumulated in f64.
pub(crate) fn sum_squares<E: Elem>(x: &[E]) -> f64 {
    x.iter().map(|v| v.as_f64() * v.as_f64()).sum()
}
