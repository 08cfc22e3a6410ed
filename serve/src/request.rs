//! A `:predict` request body (TF Serving's row or columnar format), checked against the model's
//! per-sample input shape, as one flat batch of `f32` values.

use serde_json::{Map, Value};

/// How the request was written, which decides how the answer is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"instances": [...]}`: answered with `{"predictions": [...]}`.
    Row,
    /// `{"inputs": ...}`: answered with `{"outputs": ...}`.
    Columnar,
}

/// A checked request: `batch` samples, one after the other in `values`.
#[derive(Debug, PartialEq)]
pub struct Instances {
    /// The samples' values, each `numel(dims)` long.
    pub values: Vec<f32>,
    /// Number of samples.
    pub batch: usize,
    /// The format to answer in.
    pub format: Format,
}

/// Parses and checks a `:predict` body against the input named `input` of per-sample shape
/// `dims`; the `Err` says what is wrong and where (`instances[3][0][27]: expected a number, got "x"`).
///
/// ```
/// use shapeflow_serve::request::{parse_predict, Format};
/// let ok = parse_predict(br#"{"instances": [[1, 2], [3, 4.5]]}"#, "input", &[2]).unwrap();
/// assert_eq!((ok.values, ok.batch, ok.format), (vec![1.0, 2.0, 3.0, 4.5], 2, Format::Row));
/// let err = parse_predict(br#"{"instances": [[1, 2], [3]]}"#, "input", &[2]).unwrap_err();
/// assert_eq!(err, "instances[1]: expected a list of 2 values (the input's shape is [2]), got a list of 1");
/// ```
pub fn parse_predict(body: &[u8], input: &str, dims: &[usize]) -> Result<Instances, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the request body is not JSON: {e}"))?;
    let Value::Object(obj) = v else {
        return Err(format!(
            "the request body must be a JSON object with \"instances\" or \"inputs\", got {}",
            kind(&v)
        ));
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "instances" | "inputs" | "signature_name") {
            return Err(format!(
                "unknown field \"{key}\": a request has \"instances\" (row format) or \"inputs\" \
                 (columnar format), and optionally \"signature_name\""
            ));
        }
    }
    if let Some(sig) = obj.get("signature_name") {
        match sig.as_str() {
            Some("serving_default") | Some("") => {}
            _ => {
                return Err(format!(
                    "signature_name {sig}: this model has the one signature \"serving_default\""
                ));
            }
        }
    }
    let checker = Checker { input, dims };
    match (obj.get("instances"), obj.get("inputs")) {
        (Some(_), Some(_)) => {
            Err("a request has either \"instances\" or \"inputs\", not both".to_string())
        }
        (None, None) => Err("the request has neither \"instances\" (row format) nor \"inputs\" \
                             (columnar format)"
            .to_string()),
        (Some(rows), None) => checker.rows(rows),
        (None, Some(cols)) => checker.columns(cols),
    }
}

/// The input's name and per-sample shape, for flattening and messages.
struct Checker<'a> {
    input: &'a str,
    dims: &'a [usize],
}

impl Checker<'_> {
    fn rows(&self, rows: &Value) -> Result<Instances, String> {
        let Value::Array(items) = rows else {
            return Err(format!("\"instances\" must be a list of instances, got {}", kind(rows)));
        };
        if items.is_empty() {
            return Err("\"instances\" is empty: send at least one instance".to_string());
        }
        let mut values = Vec::with_capacity(items.len() * self.dims.iter().product::<usize>());
        for (i, item) in items.iter().enumerate() {
            let (item, base) = match item {
                Value::Object(named) => (
                    self.named(named, &format!("instances[{i}]"))?,
                    format!("instances[{i}].{}", self.input),
                ),
                other => (other, format!("instances[{i}]")),
            };
            self.flatten(item, self.dims, &base, &mut Vec::new(), &mut values)?;
        }
        Ok(Instances { values, batch: items.len(), format: Format::Row })
    }

    fn columns(&self, cols: &Value) -> Result<Instances, String> {
        let (cols, path) = match cols {
            Value::Object(named) => {
                (self.named(named, "inputs")?, format!("inputs.{}", self.input))
            }
            other => (other, "inputs".to_string()),
        };
        let Value::Array(items) = cols else {
            return Err(format!(
                "{path} must be a list of instances (the batch first), got {}",
                kind(cols)
            ));
        };
        if items.is_empty() {
            return Err(format!("{path} is empty: send at least one instance"));
        }
        let mut values = Vec::new();
        for (i, item) in items.iter().enumerate() {
            self.flatten(item, self.dims, &format!("{path}[{i}]"), &mut Vec::new(), &mut values)?;
        }
        Ok(Instances { values, batch: items.len(), format: Format::Columnar })
    }

    /// The value of the one named input in `{"input": ...}`.
    fn named<'v>(&self, named: &'v Map<String, Value>, at: &str) -> Result<&'v Value, String> {
        if let Some(k) = named.keys().find(|k| *k != self.input) {
            return Err(format!(
                "{at}: unknown input \"{k}\"; the model's one input is \"{}\"",
                self.input
            ));
        }
        named.get(self.input).ok_or_else(|| format!("{at}: missing the input \"{}\"", self.input))
    }

    /// Appends the values of `v`, which must have shape `dims`, to `out`; `base` and the indices
    /// in `at` name `v` (the name is only written for an error).
    fn flatten(
        &self,
        v: &Value,
        dims: &[usize],
        base: &str,
        at: &mut Vec<usize>,
        out: &mut Vec<f32>,
    ) -> Result<(), String> {
        let path = |at: &[usize]| {
            let mut p = base.to_string();
            at.iter().for_each(|i| p.push_str(&format!("[{i}]")));
            p
        };
        let Some((&n, rest)) = dims.split_first() else {
            return match v {
                Value::Number(num) => {
                    let x = num.as_f64().unwrap_or(f64::NAN) as f32;
                    if x.is_finite() {
                        out.push(x);
                        Ok(())
                    } else {
                        Err(format!("{}: {num} is not a finite 32-bit float", path(at)))
                    }
                }
                other => Err(format!("{}: expected a number, got {}", path(at), describe(other))),
            };
        };
        let expected = || {
            let values = if n == 1 { "1 value".to_string() } else { format!("{n} values") };
            format!("expected a list of {values} (the input's shape is {:?})", self.dims)
        };
        let Value::Array(items) = v else {
            return Err(format!("{}: {}, got {}", path(at), expected(), describe(v)));
        };
        if items.len() != n {
            return Err(format!("{}: {}, got a list of {}", path(at), expected(), items.len()));
        }
        for (i, item) in items.iter().enumerate() {
            at.push(i);
            self.flatten(item, rest, base, at, out)?;
            at.pop();
        }
        Ok(())
    }
}

/// A JSON value's kind, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A JSON value for a message: short values as written, long ones by kind.
fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 24 { format!("{} {s}", kind(v)) } else { kind(v).to_string() }
}
