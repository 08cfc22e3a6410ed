//! The activations: `Relu`, `Sigmoid`, `Tanh` and `LeakyRelu` as the ONNX ops; `Gelu` (erf) and
//! `GeluTanh` written out from `Erf` / `Tanh` (ONNX's `Gelu` needs opset 20); `Softmax` and
//! `LogSoftmax` over the last axis.

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, float, int};

pub fn plain(b: &mut Builder, s: &Site) -> Result<()> {
    b.node(&s.node.op, &[&s.inputs[0]], &s.output, vec![]);
    Ok(())
}

pub fn leaky_relu(b: &mut Builder, s: &Site) -> Result<()> {
    let alpha = s.real("negative_slope")? as f32;
    b.node("LeakyRelu", &[&s.inputs[0]], &s.output, vec![float("alpha", alpha)]);
    Ok(())
}

pub fn softmax(b: &mut Builder, s: &Site) -> Result<()> {
    b.node(&s.node.op, &[&s.inputs[0]], &s.output, vec![int("axis", -1)]);
    Ok(())
}

/// `0.5 · x · (1 + inner)`, with `inner` computed from `x` by `f`.
fn half_x_one_plus(b: &mut Builder, s: &Site, inner: String) {
    let (x, o) = (&s.inputs[0], &s.output);
    let one = b.constant(&format!("{o}/one"), &[], &[1.0]);
    let half = b.constant(&format!("{o}/half"), &[], &[0.5]);
    let p = b.step("Add", &[&inner, &one], &format!("{o}/one_plus"), vec![]);
    let xp = b.step("Mul", &[x, &p], &format!("{o}/times_x"), vec![]);
    b.node("Mul", &[&xp, &half], o, vec![]);
}

pub fn gelu(b: &mut Builder, s: &Site) -> Result<()> {
    let (x, o) = (&s.inputs[0], &s.output);
    let sqrt2 = b.constant(&format!("{o}/sqrt2"), &[], &[std::f32::consts::SQRT_2]);
    let scaled = b.step("Div", &[x, &sqrt2], &format!("{o}/scaled"), vec![]);
    let erf = b.step("Erf", &[&scaled], &format!("{o}/erf"), vec![]);
    half_x_one_plus(b, s, erf);
    Ok(())
}

pub fn gelu_tanh(b: &mut Builder, s: &Site) -> Result<()> {
    let (x, o) = (&s.inputs[0], &s.output);
    let c = b.constant(&format!("{o}/c"), &[], &[0.044715]);
    let k = (2.0 / std::f64::consts::PI).sqrt() as f32;
    let k = b.constant(&format!("{o}/sqrt_2_over_pi"), &[], &[k]);
    let x2 = b.step("Mul", &[x, x], &format!("{o}/x2"), vec![]);
    let x3 = b.step("Mul", &[&x2, x], &format!("{o}/x3"), vec![]);
    let cx3 = b.step("Mul", &[&x3, &c], &format!("{o}/cx3"), vec![]);
    let sum = b.step("Add", &[x, &cx3], &format!("{o}/sum"), vec![]);
    let arg = b.step("Mul", &[&sum, &k], &format!("{o}/arg"), vec![]);
    let tanh = b.step("Tanh", &[&arg], &format!("{o}/tanh"), vec![]);
    half_x_one_plus(b, s, tanh);
    Ok(())
}
