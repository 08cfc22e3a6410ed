//! `MultiheadAttention` and `CrossAttention` written out: queries, keys and values from PyTorch's
//! joint projection (`in_proj_weight [3E, E]`: the queries from the node's first input, the keys
//! and values from its second for cross-attention), heads as `[batch, heads, seq, E/H]`, rotary
//! embeddings on queries and keys when `rope` ("rotate half", base 10000), scores `q·kᵀ/√(E/H)`
//! with the keys past each sample's length (and, when causal, after the query) set to −∞ before
//! the softmax, then `out_proj`.

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int, ints};
use crate::steps::Steps;

/// `x·W[rows]ᵀ + b[rows]` for rows `rows` of the weight `[out, in]` stored in the model, on a
/// `[batch, seq, in]` value.
fn project(
    b: &mut Builder,
    x: &str,
    (w, bias): (&str, &str),
    rows: std::ops::Range<usize>,
    out: &str,
) -> Result<String> {
    let wt = b.transposed_rows(w, rows.clone(), &format!("{out}/weight_t"))?;
    let n = rows.len();
    let bias_rows = b.lookup(bias)?.values[rows].to_vec();
    let bias = b.constant(&format!("{out}/bias"), &[n], &bias_rows);
    let y = b.step("MatMul", &[x, &wt], &format!("{out}/matmul"), vec![]);
    Ok(b.step("Add", &[&y, &bias], out, vec![]))
}

/// `[batch, seq, E]` to `[batch, heads, seq, E/H]`.
fn to_heads(b: &mut Builder, x: &str, heads: i64, d: i64, out: &str) -> String {
    let shape = b.constant_i64(&format!("{out}/shape"), &[0, 0, heads, d]);
    let r = b.step("Reshape", &[x, &shape], &format!("{out}/split_heads"), vec![]);
    b.step("Transpose", &[&r], out, vec![ints("perm", &[0, 2, 1, 3])])
}

/// Rotary embeddings on `[batch, heads, seq, d]`: the halves `x₁, x₂` of each head's vector
/// become `x₁·cos − x₂·sin, x₂·cos + x₁·sin` at angle `t · 10000^(−2j/d)`.
fn rotate(b: &mut Builder, x: &str, positions: &str, d: usize, out: &str) -> String {
    let half = d / 2;
    let t = b.step("Cast", &[positions], &format!("{out}/t"), vec![int("to", 1)]);
    let axis1 = b.constant_i64(&format!("{out}/axis1"), &[1]);
    let t = b.step("Unsqueeze", &[&t, &axis1], &format!("{out}/t_column"), vec![]);
    let freq: Vec<f32> =
        (0..half).map(|j| 10000f64.powf(-2.0 * j as f64 / d as f64) as f32).collect();
    let freq = b.constant(&format!("{out}/freq"), &[1, half], &freq);
    let angle = b.step("Mul", &[&t, &freq], &format!("{out}/angle"), vec![]);
    let cos = b.step("Cos", &[&angle], &format!("{out}/cos"), vec![]);
    let sin = b.step("Sin", &[&angle], &format!("{out}/sin"), vec![]);
    let split = b.constant_i64(&format!("{out}/halves"), &[half as i64, half as i64]);
    let (x1, x2) = (format!("{out}/x1"), format!("{out}/x2"));
    b.nodes.push(crate::proto::NodeProto {
        input: vec![x.to_string(), split],
        output: vec![x1.clone(), x2.clone()],
        name: format!("{out}/split_halves"),
        op_type: "Split".into(),
        attribute: vec![int("axis", -1)],
        ..Default::default()
    });
    let term = |b: &mut Builder, a: &str, t: &str, name: &str| {
        b.step("Mul", &[a, t], &format!("{out}/{name}"), vec![])
    };
    let (x1c, x2s) = (term(b, &x1, &cos, "x1_cos"), term(b, &x2, &sin, "x2_sin"));
    let (x2c, x1s) = (term(b, &x2, &cos, "x2_cos"), term(b, &x1, &sin, "x1_sin"));
    let y1 = b.step("Sub", &[&x1c, &x2s], &format!("{out}/y1"), vec![]);
    let y2 = b.step("Add", &[&x2c, &x1s], &format!("{out}/y2"), vec![]);
    b.step("Concat", &[&y1, &y2], out, vec![int("axis", -1)])
}

pub fn attention(b: &mut Builder, s: &Site) -> Result<()> {
    let cross = s.node.op == "CrossAttention";
    let (e, heads) = (s.int("embed_dim")? as usize, s.int("num_heads")?);
    let d = e / heads as usize;
    let o = s.output.clone();
    let (w, bias) = (s.param("in_proj_weight"), s.param("in_proj_bias"));
    let (x, memory) = (&s.inputs[0], s.inputs.get(1).unwrap_or(&s.inputs[0]));
    let q = project(b, x, (&w, &bias), 0..e, &format!("{o}/q_proj"))?;
    let k = project(b, memory, (&w, &bias), e..2 * e, &format!("{o}/k_proj"))?;
    let v = project(b, memory, (&w, &bias), 2 * e..3 * e, &format!("{o}/v_proj"))?;
    let (d64, h) = (d as i64, heads);
    let mut q = to_heads(b, &q, h, d64, &format!("{o}/q"));
    let mut k = to_heads(b, &k, h, d64, &format!("{o}/k"));
    let v = to_heads(b, &v, h, d64, &format!("{o}/v"));
    let (queries, keys) = (Steps::of(b, s, 0)?, Steps::of(b, s, if cross { 1 } else { 0 })?);
    if s.flag("rope", false) && !cross {
        let positions = queries.positions(b);
        q = rotate(b, &q, &positions, d, &format!("{o}/q_rotated"));
        k = rotate(b, &k, &positions, d, &format!("{o}/k_rotated"));
    }
    let kt = b.step("Transpose", &[&k], &format!("{o}/k_t"), vec![ints("perm", &[0, 1, 3, 2])]);
    let scores = b.step("MatMul", &[&q, &kt], &format!("{o}/scores"), vec![]);
    let scale = b.constant(&format!("{o}/scale"), &[], &[1.0 / (d as f32).sqrt()]);
    let scores = b.step("Mul", &[&scores, &scale], &format!("{o}/scaled"), vec![]);
    // Keys each query may see: [batch, 1, 1, keys], and when causal also [queries, keys].
    let valid = keys.valid(b);
    let axes = b.constant_i64(&format!("{o}/mask_axes"), &[1, 2]);
    let mut visible = b.step("Unsqueeze", &[&valid, &axes], &format!("{o}/key_mask"), vec![]);
    if s.flag("causal", false) {
        let (qp, kp) = (queries.positions(b), keys.positions(b));
        let a0 = b.constant_i64(&format!("{o}/axis0"), &[0]);
        let a1 = b.constant_i64(&format!("{o}/axis1"), &[1]);
        let kp = b.step("Unsqueeze", &[&kp, &a0], &format!("{o}/key_positions"), vec![]);
        let qp = b.step("Unsqueeze", &[&qp, &a1], &format!("{o}/query_positions"), vec![]);
        let causal = b.step("LessOrEqual", &[&kp, &qp], &format!("{o}/causal"), vec![]);
        visible = b.step("And", &[&visible, &causal], &format!("{o}/visible"), vec![]);
    }
    let minus_inf = b.constant(&format!("{o}/minus_inf"), &[], &[f32::NEG_INFINITY]);
    let masked = b.step("Where", &[&visible, &scores, &minus_inf], &format!("{o}/masked"), vec![]);
    let weights = b.step("Softmax", &[&masked], &format!("{o}/weights"), vec![int("axis", -1)]);
    let ctx = b.step("MatMul", &[&weights, &v], &format!("{o}/context"), vec![]);
    let perm = vec![ints("perm", &[0, 2, 1, 3])];
    let ctx = b.step("Transpose", &[&ctx], &format!("{o}/context_t"), perm);
    let joined = b.constant_i64(&format!("{o}/joined_shape"), &[0, 0, e as i64]);
    let ctx = b.step("Reshape", &[&ctx, &joined], &format!("{o}/joined"), vec![]);
    let out_w = (s.param("out_proj.weight"), s.param("out_proj.bias"));
    let out = project(b, &ctx, (&out_w.0, &out_w.1), 0..e, &format!("{o}/out"))?;
    b.node("Identity", &[&out], &o, vec![]);
    Ok(())
}
