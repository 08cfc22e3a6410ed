//! The answer to a `:predict` request: the outputs nested to the model's per-sample output shape,
//! each value written as the shortest decimal that reads back as the same `f32`.

use std::fmt::Write;

use crate::request::Format;

/// The JSON answer for `batch` outputs of per-sample shape `dims`, laid out one after the other
/// in `values`: `{"predictions": [...]}` for the row format, `{"outputs": [...]}` for the
/// columnar one (as TF Serving answers).
///
/// ```
/// use shapeflow_serve::{request::Format, response::predictions_json};
/// assert_eq!(predictions_json(&[0.5, 1.0, -2.0, 0.1], &[2], Format::Row),
///            r#"{"predictions":[[0.5,1],[-2,0.1]]}"#);
/// assert_eq!(predictions_json(&[3.0, 4.0], &[], Format::Columnar), r#"{"outputs":[3,4]}"#);
/// ```
pub fn predictions_json(values: &[f32], dims: &[usize], format: Format) -> String {
    let key = match format {
        Format::Row => "predictions",
        Format::Columnar => "outputs",
    };
    let per: usize = dims.iter().product();
    let mut out = String::with_capacity(16 + values.len() * 12);
    let _ = write!(out, "{{\"{key}\":[");
    for (i, sample) in values.chunks(per.max(1)).enumerate() {
        if i > 0 {
            out.push(',');
        }
        nested(&mut out, sample, dims);
    }
    out.push_str("]}");
    out
}

/// Writes `values` (of shape `dims`) as nested JSON lists.
fn nested(out: &mut String, values: &[f32], dims: &[usize]) {
    let Some((&n, rest)) = dims.split_first() else {
        let _ = write!(out, "{}", values.first().copied().unwrap_or(0.0));
        return;
    };
    let per: usize = rest.iter().product();
    out.push('[');
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        nested(out, &values[i * per..(i + 1) * per], rest);
    }
    out.push(']');
}
