//! The graph under construction: nodes, initializers (the model's weights and the constants
//! the lowerings need) and fresh value names.

use std::collections::{HashMap, HashSet};

use shapeflow_core::{Error, Result};

use crate::proto::{AttributeProto, FLOAT, INT64, NodeProto, TensorProto, attribute_type};

/// One weight of the model: its sizes and values (what [`crate::model_proto`] takes, by
/// state-dict name).
///
/// ```
/// let w = shapeflow_onnx::Weight { dims: vec![2, 3], values: vec![0.0; 6] };
/// assert_eq!(w.dims.iter().product::<usize>(), w.values.len());
/// ```
pub struct Weight {
    /// PyTorch's layout.
    pub dims: Vec<usize>,
    /// Its values, as `f32`.
    pub values: Vec<f32>,
}

/// Builds the ONNX graph of one model: each lowering appends nodes through it.
pub(crate) struct Builder {
    pub(crate) nodes: Vec<NodeProto>,
    pub(crate) initializers: Vec<TensorProto>,
    weights: HashMap<String, Weight>,
    added: HashSet<String>,
    counter: usize,
    /// Each sequence input's `lengths` input, by the sequence input's ONNX name.
    pub(crate) lengths: HashMap<String, String>,
    /// The sequence input each ONNX value's steps come from.
    pub(crate) origin: HashMap<String, String>,
    /// Values computed once per sequence input (the step count, the valid-step mask), by key.
    pub(crate) cached: HashMap<(&'static str, String), String>,
}

impl Builder {
    /// A builder over the model's weights, by state-dict name.
    pub(crate) fn new(weights: HashMap<String, Weight>) -> Self {
        Self {
            nodes: Vec::new(),
            initializers: Vec::new(),
            weights,
            added: HashSet::new(),
            counter: 0,
            lengths: HashMap::new(),
            origin: HashMap::new(),
            cached: HashMap::new(),
        }
    }

    /// A value name not used before, from `hint` (`fc1/transposed_3`).
    pub fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}_{}", self.counter)
    }

    /// The model's weight `name` (`conv1.weight`) as an initializer of the same name, added
    /// once; an `Err` when the model has no such tensor.
    pub fn weight(&mut self, name: &str) -> Result<String> {
        let w = self.lookup(name)?;
        let (dims, values) = (w.dims.clone(), w.values.clone());
        if self.added.insert(name.to_string()) {
            self.push_f32(name.to_string(), &dims, &values);
        }
        Ok(name.to_string())
    }

    /// The sizes and values of the model's weight `name`.
    pub fn lookup(&self, name: &str) -> Result<&Weight> {
        self.weights.get(name).ok_or_else(|| {
            Error::Config(format!("ONNX export: the model has no tensor `{name}` in its state"))
        })
    }

    /// Rows `rows` of the model's `[out, in]` weight `name`, transposed to `[in, rows]`, as a
    /// constant named from `hint` (the right operand of a `MatMul` on `[…, in]` values).
    pub fn transposed_rows(
        &mut self,
        name: &str,
        rows: std::ops::Range<usize>,
        hint: &str,
    ) -> Result<String> {
        let w = self.lookup(name)?;
        let (cols, n) = (w.dims[1], rows.len());
        let mut t = vec![0.0; n * cols];
        for (i, r) in rows.enumerate() {
            for c in 0..cols {
                t[c * n + i] = w.values[r * cols + c];
            }
        }
        Ok(self.constant(hint, &[cols, n], &t))
    }

    /// A constant `f32` tensor (a derived weight or a scalar of a lowering).
    pub fn constant(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh(hint);
        self.push_f32(name.clone(), dims, values);
        name
    }

    /// A constant `i64` vector (axes, slice bounds, shapes).
    pub fn constant_i64(&mut self, hint: &str, values: &[i64]) -> String {
        self.push_i64(hint, vec![values.len() as i64], values)
    }

    /// A constant `i64` scalar.
    pub fn scalar_i64(&mut self, hint: &str, value: i64) -> String {
        self.push_i64(hint, Vec::new(), &[value])
    }

    fn push_i64(&mut self, hint: &str, dims: Vec<i64>, values: &[i64]) -> String {
        let name = self.fresh(hint);
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            dims,
            data_type: INT64,
            name: name.clone(),
            raw_data: raw,
        });
        name
    }

    fn push_f32(&mut self, name: String, dims: &[usize], values: &[f32]) {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let dims = dims.iter().map(|&d| d as i64).collect();
        self.initializers.push(TensorProto { dims, data_type: FLOAT, name, raw_data: raw });
    }

    /// Appends the node `op(inputs) -> output` named after its output.
    pub fn node(&mut self, op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name: output.to_string(),
            op_type: op.to_string(),
            attribute: attrs,
            ..NodeProto::default()
        });
    }

    /// [`Builder::node`] with a fresh output name from `hint`, which it returns.
    pub fn step(
        &mut self,
        op: &str,
        inputs: &[&str],
        hint: &str,
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = self.fresh(hint);
        self.node(op, inputs, &out, attrs);
        out
    }
}

/// An integer attribute.
pub fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), i: v, r#type: attribute_type::INT, ..Default::default() }
}

/// A float attribute.
pub fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto { name: name.into(), f: v, r#type: attribute_type::FLOAT, ..Default::default() }
}

/// A list-of-integers attribute.
pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

/// A string attribute.
pub fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: v.as_bytes().to_vec(),
        r#type: attribute_type::STRING,
        ..Default::default()
    }
}

/// A list-of-strings attribute.
pub fn strings(name: &str, v: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        r#type: attribute_type::STRINGS,
        ..Default::default()
    }
}
