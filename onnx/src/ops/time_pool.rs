//! `LastStep` (`GatherND` at each sample's last valid step; for a bidirectional input the
//! second half of the features at step 0) and `MeanOverTime` (the masked sum over the steps
//! divided by the lengths).

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int};
use crate::steps::Steps;

pub fn last_step(b: &mut Builder, s: &Site) -> Result<()> {
    let (x, o) = (&s.inputs[0], s.output.clone());
    let lengths = Steps::of(b, s, 0)?.lengths();
    let one = b.constant_i64(&format!("{o}/one"), &[1]);
    let last = b.step("Sub", &[&lengths, &one], &format!("{o}/last_index"), vec![]);
    let axis1 = b.constant_i64(&format!("{o}/axis1"), &[1]);
    let index = b.step("Unsqueeze", &[&last, &axis1], &format!("{o}/index"), vec![]);
    if !s.flag("bidirectional", false) {
        b.node("GatherND", &[x, &index], &o, vec![int("batch_dims", 1)]);
        return Ok(());
    }
    let f = s.features()? as i64;
    let h = f / 2;
    let slice = |b: &mut Builder, name: &str, starts: &[i64], ends: &[i64], axes: &[i64]| {
        let (st, en, ax) = (
            b.constant_i64(&format!("{o}/{name}_starts"), starts),
            b.constant_i64(&format!("{o}/{name}_ends"), ends),
            b.constant_i64(&format!("{o}/{name}_axes"), axes),
        );
        b.step("Slice", &[x, &st, &en, &ax], &format!("{o}/{name}"), vec![])
    };
    let forward = slice(b, "forward", &[0], &[h], &[2]);
    let forward = b.step(
        "GatherND",
        &[&forward, &index],
        &format!("{o}/forward_last"),
        vec![int("batch_dims", 1)],
    );
    let reverse = slice(b, "reverse", &[0, h], &[1, f], &[1, 2]);
    let reverse = b.step("Squeeze", &[&reverse, &axis1], &format!("{o}/reverse_first"), vec![]);
    b.node("Concat", &[&forward, &reverse], &o, vec![int("axis", 1)]);
    Ok(())
}

pub fn mean_over_time(b: &mut Builder, s: &Site) -> Result<()> {
    let (x, o) = (&s.inputs[0], s.output.clone());
    let steps = Steps::of(b, s, 0)?;
    let (valid, lengths) = (steps.valid(b), steps.lengths_f32(b));
    let mask = b.step("Cast", &[&valid], &format!("{o}/mask"), vec![int("to", 1)]);
    let axis2 = b.constant_i64(&format!("{o}/axis2"), &[2]);
    let mask = b.step("Unsqueeze", &[&mask, &axis2], &format!("{o}/mask3"), vec![]);
    let masked = b.step("Mul", &[x, &mask], &format!("{o}/masked"), vec![]);
    let axis1 = b.constant_i64(&format!("{o}/axis1"), &[1]);
    let sum =
        b.step("ReduceSum", &[&masked, &axis1], &format!("{o}/sum"), vec![int("keepdims", 0)]);
    b.node("Div", &[&sum, &lengths], &o, vec![]);
    Ok(())
}
