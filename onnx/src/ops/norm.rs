//! The normalisations at inference: `BatchNorm1d/2d` as `BatchNormalization` over the running
//! statistics, `LayerNorm` as `LayerNormalization` (last axis), `RmsNorm` written out
//! (`x / sqrt(mean(x²) + eps) · weight`; ONNX's `RMSNormalization` needs opset 23).

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, float, int, ints};

pub fn batch_norm(b: &mut Builder, s: &Site) -> Result<()> {
    let names = ["weight", "bias", "running_mean", "running_var"];
    let mut inputs = vec![s.inputs[0].clone()];
    for n in names {
        inputs.push(b.weight(&s.param(n))?);
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let eps = s.real("eps")? as f32;
    b.node("BatchNormalization", &inputs, &s.output, vec![float("epsilon", eps)]);
    Ok(())
}

/// The weight and bias of an affine norm, or ones and zeros without.
fn affine(b: &mut Builder, s: &Site, bias: bool) -> Result<(String, Option<String>)> {
    if s.flag("elementwise_affine", true) {
        let w = b.weight(&s.param("weight"))?;
        let bias = if bias { Some(b.weight(&s.param("bias"))?) } else { None };
        return Ok((w, bias));
    }
    let f = s.features()?;
    let ones = b.constant(&format!("{}/ones", s.output), &[f], &vec![1.0; f]);
    let zeros = bias.then(|| b.constant(&format!("{}/zeros", s.output), &[f], &vec![0.0; f]));
    Ok((ones, zeros))
}

pub fn layer_norm(b: &mut Builder, s: &Site) -> Result<()> {
    let (w, bias) = affine(b, s, true)?;
    let mut inputs = vec![s.inputs[0].as_str(), w.as_str()];
    inputs.extend(bias.as_deref());
    let attrs = vec![int("axis", -1), float("epsilon", s.real("eps")? as f32)];
    b.node("LayerNormalization", &inputs, &s.output, attrs);
    Ok(())
}

pub fn rms_norm(b: &mut Builder, s: &Site) -> Result<()> {
    let (x, o) = (&s.inputs[0], s.output.clone());
    let (w, _) = affine(b, s, false)?;
    let eps = b.constant(&format!("{o}/eps"), &[], &[s.real("eps")? as f32]);
    let sq = b.step("Mul", &[x, x], &format!("{o}/square"), vec![]);
    let attrs = vec![ints("axes", &[-1]), int("keepdims", 1)];
    let mean = b.step("ReduceMean", &[&sq], &format!("{o}/mean"), attrs);
    let shifted = b.step("Add", &[&mean, &eps], &format!("{o}/plus_eps"), vec![]);
    let rms = b.step("Sqrt", &[&shifted], &format!("{o}/rms"), vec![]);
    let normed = b.step("Div", &[x, &rms], &format!("{o}/normed"), vec![]);
    b.node("Mul", &[&normed, &w], &o, vec![]);
    Ok(())
}
