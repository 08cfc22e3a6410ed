//! `PositionEmbedding` (the learned rows `0..steps` added to every sample) and
//! `SinusoidalPositions` (the sine/cosine table computed from the step positions, sines at even
//! features and cosines at odd ones).

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int};
use crate::steps::Steps;

pub fn position_embedding(b: &mut Builder, s: &Site) -> Result<()> {
    let w = b.weight(&s.param("weight"))?;
    let positions = Steps::of(b, s, 0)?.positions(b);
    let o = s.output.clone();
    let table = b.step("Gather", &[&w, &positions], &format!("{o}/table"), vec![int("axis", 0)]);
    b.node("Add", &[&s.inputs[0], &table], &o, vec![]);
    Ok(())
}

pub fn sinusoidal(b: &mut Builder, s: &Site) -> Result<()> {
    let (e, o) = (s.features()?, s.output.clone());
    let positions = Steps::of(b, s, 0)?.positions(b);
    let t = b.step("Cast", &[&positions], &format!("{o}/t"), vec![int("to", 1)]);
    let axis1 = b.constant_i64(&format!("{o}/axis1"), &[1]);
    let t = b.step("Unsqueeze", &[&t, &axis1], &format!("{o}/t_column"), vec![]);
    // Feature j's frequency: 10000^-(j - j % 2)/E; sin on even j, cos on odd j.
    let freq: Vec<f32> =
        (0..e).map(|j| 10000f64.powf(-((j - j % 2) as f64) / e as f64) as f32).collect();
    let freq = b.constant(&format!("{o}/freq"), &[1, e], &freq);
    let angle = b.step("Mul", &[&t, &freq], &format!("{o}/angle"), vec![]);
    let odd: Vec<f32> = (0..e).map(|j| (j % 2) as f32).collect();
    let odd = b.constant(&format!("{o}/odd"), &[1, e], &odd);
    let even: Vec<f32> = (0..e).map(|j| 1.0 - (j % 2) as f32).collect();
    let even = b.constant(&format!("{o}/even"), &[1, e], &even);
    let sin = b.step("Sin", &[&angle], &format!("{o}/sin"), vec![]);
    let cos = b.step("Cos", &[&angle], &format!("{o}/cos"), vec![]);
    let sin = b.step("Mul", &[&sin, &even], &format!("{o}/sin_even"), vec![]);
    let cos = b.step("Mul", &[&cos, &odd], &format!("{o}/cos_odd"), vec![]);
    let table = b.step("Add", &[&sin, &cos], &format!("{o}/table"), vec![]);
    b.node("Add", &[&s.inputs[0], &table], &o, vec![]);
    Ok(())
}
