//! Branch-free `f32` sigmoid, tanh and erf for the recurrent cells and GELU: a range-reduced polynomial
//! exponential (within 2 ulp of `expf` on [-87, 88]) written so that the compiler vectorises a
//! loop of them, where each call of the C library's `expf`/`tanhf` runs alone (27 % of the character-LSTM training benchmark's (W5)
//! training step before). `f64` keeps the library's functions (the gradient checks).

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// `e^x` for `x` clamped to [-87, 88] (NaN stays NaN).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let t = x * LOG2E + ROUND;
    let k = t - ROUND;
    let ki = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((ki + 127) as u32) << 23)
}

/// `1 / (1 + e^−x)`.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh x`: an odd polynomial near zero (no cancellation), `(1 − e^−2x)/(1 + e^−2x)` with the
/// sign restored elsewhere.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let a = if x < 0.0 { -x } else { x };
    let e = exp(-2.0 * a);
    let far = (1.0 - e) / (1.0 + e);
    let a2 = a * a;
    let near = a
        * (1.0
            + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0 + a2 * (62.0 / 2835.0)))));
    let v = if a < 0.25 { near } else { far };
    if x < 0.0 { -v } else { v }
}

/// `erf x` (Abramowitz & Stegun 7.1.26: absolute error below 1e-6 in `f32`, enough for GELU, where
/// it is added to 1), branch-free.
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let a = if x < 0.0 { -x } else { x };
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let v = 1.0 - poly * exp(-a * a);
    if x < 0.0 { -v } else { v }
}

#[cfg(test)]
mod tests {
    #[test]
    fn close_to_the_library_functions() {
        let mut worst = (0.0f64, 0.0f64, 0.0f64);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4 * 4.0;
            let e = (super::exp(x) as f64 - (x as f64).exp()).abs() / (x as f64).exp();
            let s = (super::sigmoid(x) as f64 - 1.0 / (1.0 + (-(x as f64)).exp())).abs();
            let t = (x as f64).tanh();
            let th = (super::tanh(x) as f64 - t).abs() / t.abs().max(1e-30);
            worst = (worst.0.max(e), worst.1.max(s), worst.2.max(if x == 0.0 { 0.0 } else { th }));
        }
        assert!(worst.0 < 3e-7, "exp relative error {}", worst.0);
        assert!(worst.1 < 2e-7, "sigmoid absolute error {}", worst.1);
        assert!(worst.2 < 5e-7, "tanh relative error {}", worst.2);
        assert!(super::exp(f32::NAN).is_nan() && super::tanh(f32::NAN).is_nan());
        let worst_erf = (-40_000..=40_000)
            .map(|i| {
                let x = i as f32 * 1e-4;
                (super::erf(x) as f64 - libm::erf(x as f64)).abs()
            })
            .fold(0.0, f64::max);
        assert!(worst_erf < 1e-6, "erf absolute error {worst_erf}");
        assert!(super::sigmoid(-200.0) < 1e-37 && super::sigmoid(200.0) == 1.0);
    }
}
