//! A `:predict` request body (TF Serving's row or columnar format), checked against the model's
//! per-sample input shape, as one flat batch of `f32` values.
//!
//! The body is parsed as it is read, straight into the batch: no JSON tree is built, so a
//! request costs its body plus four bytes per value, whatever its size (a tree of the same
//! numbers would cost some 30 bytes each).

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The scalar `visit_*` methods of a visitor for which any scalar is an error:
/// `self.kind_error(kind)` with the value's kind (`"a string"`, `"a number"`, …).
macro_rules! scalars_are_errors {
    () => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(self.kind_error("a string"))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.kind_error("a number"))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.kind_error("a number"))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.kind_error("a number"))
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(self.kind_error("a boolean"))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Err(self.kind_error("null"))
        }
    };
}

/// `DeserializeSeed` for a type that is its own `Visitor`: it reads whatever JSON value comes.
macro_rules! seed_is_its_visitor {
    ($ty:ty, $value:ty) => {
        impl<'de> DeserializeSeed<'de> for $ty {
            type Value = $value;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$value, D::Error> {
                d.deserialize_any(self)
            }
        }
    };
}

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
    let (error, empty) = (RefCell::new(None), RefCell::new(None));
    let ctx = Ctx { input, dims, most_values: body.len() / 2 + 1, error, empty };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Body(&ctx).deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        ctx.error.take().unwrap_or_else(|| format!("the request body is not JSON: {e}"))
    })
}

/// What every part of the parse needs: the input's name and shape, and the first error in
/// the library's words (serde's own error would add a position to it).
struct Ctx<'a> {
    input: &'a str,
    dims: &'a [usize],
    /// The most numbers the body can hold.
    most_values: usize,
    error: RefCell<Option<String>>,
    /// An empty list of instances, reported after the rest of the body is checked.
    empty: RefCell<Option<String>>,
}

impl Ctx<'_> {
    /// Records `message` and returns the error that stops the parse.
    fn fail<E: serde::de::Error>(&self, message: String) -> E {
        self.error.borrow_mut().get_or_insert(message);
        E::custom("invalid request")
    }

    fn expected_list(&self, n: usize) -> String {
        let values = if n == 1 { "1 value".to_string() } else { format!("{n} values") };
        format!("expected a list of {values} (the input's shape is {:?})", self.dims)
    }
}

/// The top-level object.
struct Body<'c, 'a>(&'c Ctx<'a>);

seed_is_its_visitor!(Body<'_, '_>, Instances);

impl<'de> Visitor<'de> for Body<'_, '_> {
    type Value = Instances;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Instances, A::Error> {
        let ctx = self.0;
        let mut found: Option<Instances> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "instances" | "inputs" => {
                    if found.is_some() {
                        return Err(ctx.fail(
                            "a request has either \"instances\" or \"inputs\", not both".into(),
                        ));
                    }
                    let format = if key == "instances" { Format::Row } else { Format::Columnar };
                    found = Some(map.next_value_seed(Batch { ctx, format })?);
                }
                "signature_name" => {
                    let sig: Value = map.next_value()?;
                    if !matches!(sig.as_str(), Some("serving_default" | "")) {
                        return Err(ctx.fail(format!(
                            "signature_name {sig}: this model has the one signature \"serving_default\""
                        )));
                    }
                }
                _ => {
                    return Err(ctx.fail(format!(
                        "unknown field \"{key}\": a request has \"instances\" (row format) or \
                         \"inputs\" (columnar format), and optionally \"signature_name\""
                    )));
                }
            }
        }
        if let Some(m) = ctx.empty.take() {
            return Err(ctx.fail(m));
        }
        found.ok_or_else(|| {
            ctx.fail(
                "the request has neither \"instances\" (row format) nor \"inputs\" (columnar format)"
                    .into(),
            )
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Instances, A::Error> {
        Err(self.kind_error("a list"))
    }
    scalars_are_errors!();
}

impl Body<'_, '_> {
    fn kind_error<E: serde::de::Error>(&self, kind: &str) -> E {
        self.0.fail(format!(
            "the request body must be a JSON object with \"instances\" or \"inputs\", got {kind}"
        ))
    }
}

/// The value of `"instances"` (a list of instances, each a tensor or `{"input": tensor}`) or of
/// `"inputs"` (a list of instances, or `{"input": list}`).
struct Batch<'c, 'a> {
    ctx: &'c Ctx<'a>,
    format: Format,
}

impl Batch<'_, '_> {
    fn path(&self) -> &'static str {
        match self.format {
            Format::Row => "instances",
            Format::Columnar => "inputs",
        }
    }
    fn kind_error<E: serde::de::Error>(&self, kind: &str) -> E {
        self.not_a_list(self.path(), kind)
    }
    fn not_a_list<E: serde::de::Error>(&self, path: &str, kind: &str) -> E {
        self.ctx.fail(match self.format {
            Format::Row => format!("\"instances\" must be a list of instances, got {kind}"),
            Format::Columnar => {
                format!("{path} must be a list of instances (the batch first), got {kind}")
            }
        })
    }
}

seed_is_its_visitor!(Batch<'_, '_>, Instances);

impl<'de> Visitor<'de> for Batch<'_, '_> {
    type Value = Instances;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of instances")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Instances, A::Error> {
        let path = self.path().to_string();
        instances(self.ctx, seq, &path, self.format)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Instances, A::Error> {
        if self.format == Format::Row {
            return Err(self.not_a_list(self.path(), "an object"));
        }
        // `{"inputs": {"input": [...]}}`: the one named input holds the list.
        let ctx = self.ctx;
        let path = format!("inputs.{}", ctx.input);
        let seed = NamedList { ctx, path: &path };
        named(ctx, map, "inputs", seed)
    }
    scalars_are_errors!();
}

/// The list under `{"inputs": {"input": ...}}`.
struct NamedList<'c, 'a, 'p> {
    ctx: &'c Ctx<'a>,
    path: &'p str,
}

seed_is_its_visitor!(NamedList<'_, '_, '_>, Instances);

impl<'de> Visitor<'de> for NamedList<'_, '_, '_> {
    type Value = Instances;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of instances")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Instances, A::Error> {
        instances(self.ctx, seq, self.path, Format::Columnar)
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Instances, A::Error> {
        Err(self.kind_error("an object"))
    }
    scalars_are_errors!();
}

impl NamedList<'_, '_, '_> {
    fn kind_error<E: serde::de::Error>(&self, kind: &str) -> E {
        self.ctx.fail(format!(
            "{} must be a list of instances (the batch first), got {kind}",
            self.path
        ))
    }
}

/// The value of the one key of `{"input": ...}` at `at`, read with `seed`.
fn named<'de, A: MapAccess<'de>, S: DeserializeSeed<'de>>(
    ctx: &Ctx<'_>,
    mut map: A,
    at: &str,
    seed: S,
) -> Result<S::Value, A::Error> {
    let mut seed = Some(seed);
    let mut value = None;
    while let Some(key) = map.next_key::<String>()? {
        match (key == ctx.input, seed.take()) {
            (true, Some(seed)) => value = Some(map.next_value_seed(seed)?),
            _ => {
                return Err(ctx.fail(format!(
                    "{at}: unknown input \"{key}\"; the model's one input is \"{}\"",
                    ctx.input
                )));
            }
        }
    }
    value.ok_or_else(|| ctx.fail(format!("{at}: missing the input \"{}\"", ctx.input)))
}

/// The instances of a list, at `path`, into one batch.
fn instances<'de, A: SeqAccess<'de>>(
    ctx: &Ctx<'_>,
    mut seq: A,
    path: &str,
    format: Format,
) -> Result<Instances, A::Error> {
    // Reserved once: a body of `n` bytes holds at most `n / 2 + 1` numbers, so the batch
    // never grows by copying (which would hold two buffers at once).
    let mut values = Vec::with_capacity(ctx.most_values);
    let mut batch = 0;
    loop {
        let at = format!("{path}[{batch}]");
        let seed = Instance { ctx, at: &at, named: format == Format::Row, out: &mut values };
        if seq.next_element_seed(seed)?.is_none() {
            break;
        }
        batch += 1;
    }
    if batch == 0 {
        // Reported once the whole body is read: a request may have other faults to name first.
        let path = if format == Format::Row { "\"instances\"" } else { path };
        ctx.empty
            .borrow_mut()
            .get_or_insert(format!("{path} is empty: send at least one instance"));
    }
    Ok(Instances { values, batch, format })
}

/// One instance at `at`: a tensor of the input's shape or, in the row format, `{"input":
/// tensor}`; its values are appended to `out`.
struct Instance<'c, 'a, 'o> {
    ctx: &'c Ctx<'a>,
    at: &'o str,
    named: bool,
    out: &'o mut Vec<f32>,
}

impl<'de> DeserializeSeed<'de> for Instance<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let Instance { ctx, at, named: allow_named, out } = self;
        let fault = if allow_named {
            d.deserialize_any(RowItem { ctx, at, out })?
        } else {
            Tensor { ctx, base: at, dims: ctx.dims, index: &mut Vec::new(), out }.deserialize(d)?
        };
        match fault {
            Some(m) => Err(ctx.fail(m)),
            None => Ok(()),
        }
    }
}

/// A row-format instance: a tensor, or an object naming the input.
struct RowItem<'c, 'a, 'o> {
    ctx: &'c Ctx<'a>,
    at: &'o str,
    out: &'o mut Vec<f32>,
}

impl<'de> Visitor<'de> for RowItem<'_, '_, '_> {
    type Value = Fault;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an instance")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Fault, A::Error> {
        let RowItem { ctx, at, out } = self;
        let base = format!("{at}.{}", ctx.input);
        let seed = Tensor { ctx, base: &base, dims: ctx.dims, index: &mut Vec::new(), out };
        named(ctx, map, at, seed)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Fault, A::Error> {
        self.tensor(|t| t.visit_seq(seq))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Fault, E> {
        self.tensor(|t| t.visit_str(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Fault, E> {
        self.tensor(|t| t.visit_f64(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Fault, E> {
        self.tensor(|t| t.visit_i64(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Fault, E> {
        self.tensor(|t| t.visit_u64(v))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Fault, E> {
        self.tensor(|t| t.visit_bool(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Fault, E> {
        self.tensor(|t| t.visit_unit())
    }
}

impl RowItem<'_, '_, '_> {
    /// `f` on the instance read as a tensor.
    fn tensor<R>(self, f: impl FnOnce(Tensor<'_, '_, '_, '_>) -> R) -> R {
        let RowItem { ctx, at, out } = self;
        f(Tensor { ctx, base: at, dims: ctx.dims, index: &mut Vec::new(), out })
    }
}

/// What is wrong with a tensor's value, if anything. Held back rather than returned as an
/// error, so that a list's own length is judged before its elements are (the length is only
/// known once they have been read): `[0][0]: … got a list of 2`, not `[0][0][0]: … got a number`.
type Fault = Option<String>;

/// A value that must have shape `dims`, at `base` followed by `index`; its values are
/// appended to `out`.
struct Tensor<'c, 'a, 'o, 'i> {
    ctx: &'c Ctx<'a>,
    base: &'o str,
    dims: &'o [usize],
    index: &'i mut Vec<usize>,
    out: &'o mut Vec<f32>,
}

impl Tensor<'_, '_, '_, '_> {
    fn path(&self) -> String {
        let mut p = self.base.to_string();
        self.index.iter().for_each(|i| p.push_str(&format!("[{i}]")));
        p
    }
    /// The fault of a value of the wrong kind (`shown` as [`describe`] writes it).
    fn wrong(&self, shown: String) -> Fault {
        let path = self.path();
        Some(match self.dims.first() {
            None => format!("{path}: expected a number, got {shown}"),
            Some(&n) => format!("{path}: {}, got {shown}", self.ctx.expected_list(n)),
        })
    }
    fn number(self, num: serde_json::Number) -> Fault {
        if !self.dims.is_empty() {
            return self.wrong(describe(&Value::Number(num)));
        }
        let x = num.as_f64().unwrap_or(f64::NAN) as f32;
        if !x.is_finite() {
            return Some(format!("{}: {num} is not a finite 32-bit float", self.path()));
        }
        self.out.push(x);
        None
    }
}

seed_is_its_visitor!(Tensor<'_, '_, '_, '_>, Fault);

impl<'de> Visitor<'de> for Tensor<'_, '_, '_, '_> {
    type Value = Fault;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tensor")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fault, A::Error> {
        let Some((&n, rest)) = self.dims.split_first() else {
            // A list where a number belongs: read it whole to show it.
            let list: Vec<Value> =
                std::iter::from_fn(|| seq.next_element().transpose()).collect::<Result<_, _>>()?;
            return Ok(self.wrong(describe(&Value::Array(list))));
        };
        let path = self.path();
        let Tensor { ctx, base, index, out, .. } = self;
        let (mut count, mut first) = (0usize, None);
        loop {
            let more = if count < n && first.is_none() {
                index.push(count);
                let child = Tensor { ctx, base, dims: rest, index: &mut *index, out: &mut *out };
                let got = seq.next_element_seed(child)?;
                index.pop();
                got.map(|fault| first = fault).is_some()
            } else {
                // Past the shape or after a fault: only counted.
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                break;
            }
            count += 1;
        }
        if count != n {
            return Ok(Some(format!("{path}: {}, got a list of {count}", ctx.expected_list(n))));
        }
        Ok(first)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fault, A::Error> {
        let mut obj = serde_json::Map::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            obj.insert(k, v);
        }
        Ok(self.wrong(describe(&Value::Object(obj))))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Fault, E> {
        Ok(match serde_json::Number::from_f64(v) {
            Some(num) => self.number(num),
            None => self.wrong(format!("a number {v}")),
        })
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Fault, E> {
        Ok(self.number(v.into()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Fault, E> {
        Ok(self.number(v.into()))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Fault, E> {
        Ok(self.wrong(describe(&Value::String(v.to_string()))))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Fault, E> {
        Ok(self.wrong(describe(&Value::Bool(v))))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Fault, E> {
        Ok(self.wrong(describe(&Value::Null)))
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
