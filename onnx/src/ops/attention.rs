//! `MultiheadAttention` written out: the joint projection `x·W_inᵀ + b_in` split into queries,
//! keys and values, heads as a `[batch, heads, seq, E/H]` layout, scores `q·kᵀ/√(E/H)` with the
//! keys past each sample's length (and, when causal, after the query) set to −∞ before the
//! softmax, then `out_proj`. Rotary embeddings have no lowering yet.

use shapeflow_core::{Error, Result};

use super::Site;
use crate::builder::{Builder, int, ints};

/// `x·Wᵀ + b` for a weight `[out, in]` stored in the model, on a `[batch, seq, in]` value.
fn project(b: &mut Builder, x: &str, w: &str, bias: &str, out: &str) -> Result<String> {
    let weight = b.lookup(w)?;
    let (rows, cols) = (weight.dims[0], weight.dims[1]);
    let mut t = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = weight.values[r * cols + c];
        }
    }
    let wt = b.constant(&format!("{w}_transposed"), &[cols, rows], &t);
    let bias = b.weight(bias)?;
    let y = b.step("MatMul", &[x, &wt], &format!("{out}/matmul"), vec![]);
    Ok(b.step("Add", &[&y, &bias], out, vec![]))
}

pub fn attention(b: &mut Builder, s: &Site) -> Result<()> {
    if s.flag("rope", false) {
        return Err(Error::Unsupported(format!(
            "node `{}{}` ({}): rotary position embeddings have no ONNX exporter yet",
            s.prefix, s.node.name, s.node.label
        )));
    }
    let (e, heads) = (s.int("embed_dim")?, s.int("num_heads")?);
    let d = e / heads;
    let o = s.output.clone();
    let qkv = project(
        b,
        &s.inputs[0],
        &s.param("in_proj_weight"),
        &s.param("in_proj_bias"),
        &format!("{o}/qkv"),
    )?;
    let split = b.constant_i64(&format!("{o}/split"), &[e, e, e]);
    let (q, k, v) = (format!("{o}/q"), format!("{o}/k"), format!("{o}/v"));
    b.nodes.push(crate::proto::NodeProto {
        input: vec![qkv, split],
        output: vec![q.clone(), k.clone(), v.clone()],
        name: format!("{o}/split_qkv"),
        op_type: "Split".into(),
        attribute: vec![int("axis", 2)],
        ..Default::default()
    });
    let heads_shape = b.constant_i64(&format!("{o}/heads_shape"), &[0, 0, heads, d]);
    let to_heads = |b: &mut Builder, x: &str, name: &str, perm: &[i64]| {
        let r = b.step("Reshape", &[x, &heads_shape], &format!("{o}/{name}_heads"), vec![]);
        b.step("Transpose", &[&r], &format!("{o}/{name}_t"), vec![ints("perm", perm)])
    };
    let q = to_heads(b, &q, "q", &[0, 2, 1, 3]); // [batch, heads, seq, d]
    let k = to_heads(b, &k, "k", &[0, 2, 3, 1]); // [batch, heads, d, seq]
    let v = to_heads(b, &v, "v", &[0, 2, 1, 3]);
    let scores = b.step("MatMul", &[&q, &k], &format!("{o}/scores"), vec![]);
    let scale = b.constant(&format!("{o}/scale"), &[], &[1.0 / (d as f32).sqrt()]);
    let scores = b.step("Mul", &[&scores, &scale], &format!("{o}/scaled"), vec![]);
    // Keys each query may see: [batch, 1, 1, seq], and when causal also [seq, seq].
    let valid = b.valid_steps(&s.node.name)?;
    let axes = b.constant_i64(&format!("{o}/mask_axes"), &[1, 2]);
    let mut visible = b.step("Unsqueeze", &[&valid, &axes], &format!("{o}/key_mask"), vec![]);
    if s.flag("causal", false) {
        let positions = b.positions(&s.node.name)?;
        let (a0, a1) = (
            b.constant_i64(&format!("{o}/axis0"), &[0]),
            b.constant_i64(&format!("{o}/axis1"), &[1]),
        );
        let keys = b.step("Unsqueeze", &[&positions, &a0], &format!("{o}/key_positions"), vec![]);
        let queries =
            b.step("Unsqueeze", &[&positions, &a1], &format!("{o}/query_positions"), vec![]);
        let causal = b.step("LessOrEqual", &[&keys, &queries], &format!("{o}/causal"), vec![]);
        visible = b.step("And", &[&visible, &causal], &format!("{o}/visible"), vec![]);
    }
    let minus_inf = b.constant(&format!("{o}/minus_inf"), &[], &[f32::NEG_INFINITY]);
    let masked = b.step("Where", &[&visible, &scores, &minus_inf], &format!("{o}/masked"), vec![]);
    let weights = b.step("Softmax", &[&masked], &format!("{o}/weights"), vec![int("axis", -1)]);
    let ctx = b.step("MatMul", &[&weights, &v], &format!("{o}/context"), vec![]);
    let ctx =
        b.step("Transpose", &[&ctx], &format!("{o}/context_t"), vec![ints("perm", &[0, 2, 1, 3])]);
    let joined = b.constant_i64(&format!("{o}/joined_shape"), &[0, 0, e]);
    let ctx = b.step("Reshape", &[&ctx, &joined], &format!("{o}/joined"), vec![]);
    let out = project(
        b,
        &ctx,
        &s.param("out_proj.weight"),
        &s.param("out_proj.bias"),
        &format!("{o}/out"),
    )?;
    b.node("Identity", &[&out], &o, vec![]);
    Ok(())
}
