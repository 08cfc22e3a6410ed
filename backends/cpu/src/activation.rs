//! Activation kernels (relu, leaky_relu, sigmoid, tanh, gelu) and their derivatives.

use shapeflow_core::{Activation, Elem};

use crate::CpuElem;
#[cfg(target_arch = "x86_64")]
use crate::f32_view::{as_f32, as_f32_mut};

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// 1/√(2π).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// `√(2/π)`, GELU's tanh approximation.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

pub(crate) fn sigmoid<E: Elem>(x: E) -> E {
    // Stable for large |x|: never exponentiates a large positive number.
    if x >= E::zero() {
        E::one() / (E::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (E::one() + e)
    }
}

/// `Relu`'s forward of one value. NaN passes through, as in PyTorch: a NaN input must reach
/// the loss, not vanish.
#[inline(always)]
pub(crate) fn relu<E: Elem>(v: E) -> E {
    if v > E::zero() || v.is_nan() { v } else { E::zero() }
}

/// `Relu`'s backward of one value: `dy` where its output `y > 0`, else zero.
#[inline(always)]
pub(crate) fn relu_backward<E: Elem>(dy: E, y: E) -> E {
    if y > E::zero() { dy } else { E::zero() }
}

/// Tensors at least this large are processed by every worker, in chunks of [`CHUNK`] (an
/// elementwise map, so the results are the same either way).
const PARALLEL_MIN: usize = 1 << 15;
const CHUNK: usize = 1 << 13;

/// `y = f(x)`.
pub(crate) fn forward<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E]) {
    use rayon::prelude::*;
    if y.len() >= PARALLEL_MIN && x.len() >= y.len() {
        y.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(y, x)| forward_seq(kind, x, y));
    } else {
        forward_seq(kind, x, y);
    }
}

/// [`forward_seq_in`], compiled for AVX2 in f32 where the machine has it (eight lanes instead
/// of baseline x86-64's four: GELU's erf is a polynomial evaluated per value).
fn forward_seq<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E]) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && let (Some(xf), Some(yf)) = (as_f32(x), as_f32_mut(y))
    {
        // SAFETY: AVX2 and FMA are available (checked just above).
        unsafe { forward_seq_avx2(kind, xf, yf) };
        return;
    }
    forward_seq_in(kind, x, y);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_seq_avx2(kind: Activation, x: &[f32], y: &mut [f32]) {
    forward_seq_in(kind, x, y);
}

#[inline(always)]
fn forward_seq_in<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E]) {
    let zero = E::zero();
    match kind {
        Activation::Relu => y.iter_mut().zip(x).for_each(|(o, &v)| *o = relu(v)),
        Activation::LeakyRelu(s) => {
            let s = E::from_f64(s);
            y.iter_mut().zip(x).for_each(|(o, &v)| *o = if v > zero { v } else { s * v })
        }
        Activation::Sigmoid => y.iter_mut().zip(x).for_each(|(o, &v)| *o = sigmoid(v)),
        Activation::Tanh => y.iter_mut().zip(x).for_each(|(o, &v)| *o = v.tanh()),
        Activation::Gelu => {
            let half = E::from_f64(0.5);
            let r = E::from_f64(FRAC_1_SQRT_2);
            y.iter_mut().zip(x).for_each(|(o, &v)| *o = half * v * (E::one() + (v * r).erf()))
        }
        Activation::GeluTanh => {
            let (half, c, a) =
                (E::from_f64(0.5), E::from_f64(SQRT_2_OVER_PI), E::from_f64(0.044715));
            y.iter_mut()
                .zip(x)
                .for_each(|(o, &v)| *o = half * v * (E::one() + (c * (v + a * v * v * v)).tanh()))
        }
    }
}

/// `y = f(x)` and `d = f'(x)`: for the GELUs in one pass that shares the `erf` (or `tanh`)
/// between the two; other kinds through [`forward`] and [`backward`] of ones.
pub(crate) fn with_derivative<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E], d: &mut [E]) {
    use rayon::prelude::*;
    if !kind.saves_derivative() {
        forward(kind, x, y);
        let ones = vec![E::one(); x.len()];
        backward(kind, if kind.backward_uses_output() { y } else { x }, &ones, d);
    } else if y.len() >= PARALLEL_MIN && x.len() >= y.len() && d.len() >= y.len() {
        y.par_chunks_mut(CHUNK)
            .zip(d.par_chunks_mut(CHUNK))
            .zip(x.par_chunks(CHUNK))
            .for_each(|((y, d), x)| with_derivative_seq(kind, x, y, d));
    } else {
        with_derivative_seq(kind, x, y, d);
    }
}

/// [`with_derivative_in`], compiled for AVX2 in f32 where the machine has it.
fn with_derivative_seq<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E], d: &mut [E]) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && let (Some(xf), Some(yf), Some(df)) = (as_f32(x), as_f32_mut(y), as_f32_mut(d))
    {
        // SAFETY: AVX2 and FMA are available (checked just above).
        unsafe { with_derivative_avx2(kind, xf, yf, df) };
        return;
    }
    with_derivative_in(kind, x, y, d);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_derivative_avx2(kind: Activation, x: &[f32], y: &mut [f32], d: &mut [f32]) {
    with_derivative_in(kind, x, y, d);
}

/// The GELUs' value and derivative from one `erf` (or `tanh`) per value: the same formulas
/// as [`forward_seq_in`] and [`backward_seq_in`].
#[inline(always)]
fn with_derivative_in<E: CpuElem>(kind: Activation, x: &[E], y: &mut [E], d: &mut [E]) {
    let (one, half) = (E::one(), E::from_f64(0.5));
    let it = y.iter_mut().zip(d.iter_mut()).zip(x);
    match kind {
        Activation::GeluTanh => {
            let (c, a) = (E::from_f64(SQRT_2_OVER_PI), E::from_f64(0.044715));
            let three_a = E::from_f64(3.0 * 0.044715);
            it.for_each(|((y, d), &x)| {
                let t = (c * (x + a * x * x * x)).tanh();
                *y = half * x * (one + t);
                *d = half * (one + t) + half * x * (one - t * t) * c * (one + three_a * x * x);
            })
        }
        // `saves_derivative` holds for the two GELUs only.
        _ => {
            let (r, c) = (E::from_f64(FRAC_1_SQRT_2), E::from_f64(FRAC_1_SQRT_2PI));
            it.for_each(|((y, d), &x)| {
                let cdf = half * (one + (x * r).erf());
                *y = x * cdf;
                *d = cdf + x * c * (-half * x * x).gate_exp();
            })
        }
    }
}

/// `dx = f'(·)·dy`; `saved` is the output for relu/sigmoid/tanh, the input otherwise.
pub(crate) fn backward<E: CpuElem>(kind: Activation, saved: &[E], dy: &[E], dx: &mut [E]) {
    use rayon::prelude::*;
    if dx.len() >= PARALLEL_MIN && saved.len() >= dx.len() && dy.len() >= dx.len() {
        dx.par_chunks_mut(CHUNK)
            .zip(saved.par_chunks(CHUNK))
            .zip(dy.par_chunks(CHUNK))
            .for_each(|((dx, s), dy)| backward_seq(kind, s, dy, dx));
    } else {
        backward_seq(kind, saved, dy, dx);
    }
}

/// [`backward_seq_in`], compiled for AVX2 in f32 where the machine has it.
fn backward_seq<E: CpuElem>(kind: Activation, saved: &[E], dy: &[E], dx: &mut [E]) {
    #[cfg(target_arch = "x86_64")]
    if crate::f32_view::avx2_fma()
        && let (Some(s), Some(g), Some(d)) = (as_f32(saved), as_f32(dy), as_f32_mut(dx))
    {
        // SAFETY: AVX2 and FMA are available (checked just above).
        unsafe { backward_seq_avx2(kind, s, g, d) };
        return;
    }
    backward_seq_in(kind, saved, dy, dx);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn backward_seq_avx2(kind: Activation, saved: &[f32], dy: &[f32], dx: &mut [f32]) {
    backward_seq_in(kind, saved, dy, dx);
}

#[inline(always)]
fn backward_seq_in<E: CpuElem>(kind: Activation, saved: &[E], dy: &[E], dx: &mut [E]) {
    let zero = E::zero();
    let one = E::one();
    let it = dx.iter_mut().zip(saved).zip(dy);
    match kind {
        Activation::Relu => it.for_each(|((o, &y), &g)| *o = relu_backward(g, y)),
        Activation::LeakyRelu(s) => {
            let s = E::from_f64(s);
            it.for_each(|((o, &x), &g)| *o = if x > zero { g } else { s * g })
        }
        Activation::Sigmoid => it.for_each(|((o, &y), &g)| *o = g * y * (one - y)),
        Activation::Tanh => it.for_each(|((o, &y), &g)| *o = g * (one - y * y)),
        Activation::Gelu => {
            let half = E::from_f64(0.5);
            let r = E::from_f64(FRAC_1_SQRT_2);
            let c = E::from_f64(FRAC_1_SQRT_2PI);
            it.for_each(|((o, &x), &g)| {
                let cdf = half * (one + (x * r).erf());
                let pdf = c * (-half * x * x).gate_exp();
                *o = g * (cdf + x * pdf)
            })
        }
        Activation::GeluTanh => {
            let (half, c, a) =
                (E::from_f64(0.5), E::from_f64(SQRT_2_OVER_PI), E::from_f64(0.044715));
            let three_a = E::from_f64(3.0 * 0.044715);
            it.for_each(|((o, &x), &g)| {
                let t = (c * (x + a * x * x * x)).tanh();
                *o = g * (half * (one + t) + half * x * (one - t * t) * c * (one + three_a * x * x))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `with_derivative` gives what `forward` and `backward` of ones give, for every kind, in
    /// f64 (the scalar path) and f32 (the AVX2 path where the machine has it), on both sides of
    /// zero and in the tails; long enough to take the parallel path too.
    fn matches_forward_and_backward<E: CpuElem>(tol: f64) {
        let kinds = [
            Activation::Relu,
            Activation::LeakyRelu(0.1),
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Gelu,
            Activation::GeluTanh,
        ];
        let n = PARALLEL_MIN + 37;
        let x: Vec<E> = (0..n).map(|i| E::from_f64((i as f64 / n as f64 - 0.5) * 20.0)).collect();
        for kind in kinds {
            let (mut y, mut d) = (vec![E::zero(); n], vec![E::zero(); n]);
            with_derivative(kind, &x, &mut y, &mut d);
            let (mut want_y, mut want_d) = (vec![E::zero(); n], vec![E::zero(); n]);
            forward(kind, &x, &mut want_y);
            let saved = if kind.backward_uses_output() { &want_y } else { &x };
            backward(kind, saved, &vec![E::one(); n], &mut want_d);
            for i in 0..n {
                let (got, want) = ((y[i], d[i]), (want_y[i], want_d[i]));
                let err = |a: E, b: E| (a.as_f64() - b.as_f64()).abs() / b.as_f64().abs().max(1.0);
                assert!(err(got.0, want.0) <= tol, "{kind:?} y at x = {}", x[i].as_f64());
                assert!(err(got.1, want.1) <= tol, "{kind:?} f' at x = {}", x[i].as_f64());
            }
        }
    }

    #[test]
    fn with_derivative_matches_forward_and_backward_in_f64() {
        matches_forward_and_backward::<f64>(1e-15);
    }

    #[test]
    fn with_derivative_matches_forward_and_backward_in_f32() {
        matches_forward_and_backward::<f32>(1e-6);
    }
}
