//! # ONNX export
//!
//! [`export`] writes any `model!` model as an ONNX file (opset 17, IR version 8) that ONNX
//! Runtime, TensorRT or a browser runtime can run: every node of its graph lowered to ONNX
//! operators (one lowering per kind in `onnx/src/ops/`), models nested as blocks inlined with
//! their state-dict prefixes (`layer1.0.conv1`), weights as initializers under their PyTorch
//! names (`conv1.weight`), and a dynamic batch axis named `batch` on every input and output.
//! A model with a sequence input (`input: [seq, 12]`) takes a second input, `lengths`
//! (`int64 [batch]`, each sample's number of steps, its steps padded to the longest; with
//! several sequence inputs, `<input>_lengths` for each), and token ids (`input: [seq]`) as
//! `int64`; outputs at padded steps are unspecified. A node with no lowering (a custom layer)
//! is an `Err` naming it; no file is written then, and a file is never left half-written.
//!
//! ```
//! use shapeflow::prelude::*;
//! model! { pub struct Net { input: [4], fc1: Linear<4, 8>, act: Relu, fc2: Linear<8, 2> } }
//! let dev = Cpu::default();
//! let net = Net::<Cpu>::new(&dev, 0);
//! let path = std::env::temp_dir().join("shapeflow-doc-net.onnx");
//! shapeflow::onnx::export(&net, &path).unwrap();
//! let model = shapeflow::onnx::to_model_proto(&net).unwrap();
//! let ops: Vec<&str> = model.graph.as_ref().unwrap().node.iter().map(|n| n.op_type.as_str()).collect();
//! assert_eq!(ops, ["Gemm", "Relu", "Gemm"]);
//! ```

mod builder;
mod ops;
pub mod proto;
mod steps;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use prost::Message;
use shapeflow_core::graph::{Described, Graph};
use shapeflow_core::module::StateRef;
use shapeflow_core::{Backend, Elem, Error, Module, Result};

use builder::Builder;
pub use builder::Weight;
pub use ops::SUPPORTED;
use proto::tensor_shape_proto::{Dimension, dimension};
use proto::{
    GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto, TensorShapeProto,
    TypeProto, ValueInfoProto, type_proto,
};

/// The opset the exported files import.
pub const OPSET: i64 = 17;
/// The IR version that goes with [`OPSET`].
pub const IR_VERSION: i64 = 8;
/// The name of the input a model with one sequence input takes its samples' numbers of steps
/// from (`int64 [batch]`); with several, each sequence input `x` has its own `x_lengths`.
pub const LENGTHS: &str = "lengths";

/// Writes `model` as an ONNX file at `path` (atomically: a temporary file renamed into place);
/// the crate's example exports a small MLP.
pub fn export<M, B>(model: &M, path: impl AsRef<Path>) -> Result<()>
where
    M: Described + Module<B>,
    B: Backend,
{
    let bytes = to_model_proto(model)?.encode_to_vec();
    shapeflow_core::checkpoint::write_file_atomic(path.as_ref(), |f| f.write_all(&bytes))
}

/// The ONNX model of `model`, in memory (the crate's example inspects one).
pub fn to_model_proto<M, B>(model: &M) -> Result<ModelProto>
where
    M: Described + Module<B>,
    B: Backend,
{
    let mut weights = HashMap::new();
    model.visit_state(&mut String::new(), &mut |name, e| {
        if let StateRef::Tensor(dims, storage) = e {
            let values = B::to_host(storage).iter().map(|v| v.as_f64() as f32).collect();
            weights.insert(name.to_string(), Weight { dims: dims.to_vec(), values });
        }
    });
    model_proto(&model.graph(), weights)
}

/// The ONNX model of `graph` with `weights` (by state-dict name): what [`to_model_proto`] runs
/// on a model's own graph and state.
///
/// ```
/// use std::collections::HashMap;
/// use shapeflow_core::graph::{Graph, GraphInput, GraphNode};
/// let relu = GraphNode { name: "act".into(), op: "Relu".into(), label: "Relu".into(), attrs: vec![],
///     inputs: vec!["input".into()], output: "[batch, 4]".into(), params: vec![], blocks: vec![], shares: None };
/// let g = Graph { model: "Net".into(), inputs: vec![GraphInput { name: "input".into(), shape: "[batch, 4]".into() }],
///     nodes: vec![relu], outputs: vec!["act".into()] };
/// let m = shapeflow_onnx::model_proto(&g, HashMap::new()).unwrap();
/// assert_eq!(m.graph.unwrap().node[0].op_type, "Relu");
/// ```
pub fn model_proto(graph: &Graph, weights: HashMap<String, Weight>) -> Result<ModelProto> {
    let mut b = Builder::new(weights);
    // A sequence input comes with each sample's number of steps: `lengths` (`<input>_lengths`
    // when the model has several sequence inputs).
    let sequences: Vec<&str> = graph
        .inputs
        .iter()
        .filter(|i| shape_sizes(&i.shape).contains(&"seq"))
        .map(|i| i.name.as_str())
        .collect();
    for &input in &sequences {
        let lengths =
            if sequences.len() == 1 { LENGTHS.to_string() } else { format!("{input}_lengths") };
        b.lengths.insert(input.to_string(), lengths);
        b.origin.insert(input.to_string(), input.to_string());
    }
    let mut names: HashMap<String, String> = HashMap::new();
    let mut ranks: HashMap<String, usize> = HashMap::new();
    for input in &graph.inputs {
        names.insert(input.name.clone(), input.name.clone());
        ranks.insert(input.name.clone(), shape_sizes(&input.shape).len());
    }
    lower_graph(&mut b, graph, "", &mut names, &mut ranks)?;
    // The steps axis is `seq`; with several sequence inputs, `<input>_seq` for each.
    let steps_of = |value: &str| -> String {
        match b.origin.get(value) {
            Some(input) if sequences.len() > 1 => format!("{input}_seq"),
            _ => "seq".to_string(),
        }
    };
    let mut inputs: Vec<ValueInfoProto> = graph
        .inputs
        .iter()
        .map(|i| {
            // `[batch, seq]`: token ids.
            let ids = shape_sizes(&i.shape) == ["batch", "seq"];
            let elem = if ids { proto::INT64 } else { proto::FLOAT };
            value_info(&i.name, &i.shape, &steps_of(&i.name), elem)
        })
        .collect();
    for input in &sequences {
        inputs.push(value_info(&b.lengths[*input], "[batch]", "seq", proto::INT64));
    }
    let outputs = graph
        .outputs
        .iter()
        .map(|o| {
            let shape = graph.node(o).map(|n| n.output.as_str()).unwrap_or("");
            value_info(&names[o], shape, &steps_of(&names[o]), proto::FLOAT)
        })
        .collect();
    let graph_proto = GraphProto {
        node: b.nodes,
        name: graph.model.clone(),
        initializer: b.initializers,
        input: inputs,
        output: outputs,
        ..GraphProto::default()
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
        producer_name: "shapeflow".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        model_version: 1,
        doc_string: format!("{} exported by shapeflow", graph.model),
        graph: Some(graph_proto),
        metadata_props: vec![StringStringEntryProto {
            key: "model".into(),
            value: graph.model.clone(),
        }],
        ..ModelProto::default()
    })
}

/// Lowers every node of `graph` (a block when `prefix` is not empty); `names` maps the graph's
/// value names to ONNX names and gets every node's output.
fn lower_graph(
    b: &mut Builder,
    graph: &Graph,
    prefix: &str,
    names: &mut HashMap<String, String>,
    ranks: &mut HashMap<String, usize>,
) -> Result<()> {
    for node in &graph.nodes {
        let unknown = |r: &String| {
            Error::Config(format!(
                "ONNX export: node `{}` reads `{r}`, which is not defined before it",
                node.name
            ))
        };
        let inputs: Vec<String> = node
            .inputs
            .iter()
            .map(|r| names.get(r).cloned().ok_or_else(|| unknown(r)))
            .collect::<Result<_>>()?;
        let input_ranks: Vec<usize> =
            node.inputs.iter().map(|r| ranks.get(r).copied().unwrap_or(0)).collect();
        let output = format!("{prefix}{}", node.name);
        let inputs_origin = inputs.first().and_then(|v| b.origin.get(v)).cloned();
        if !node.blocks.is_empty() {
            let mut value = inputs[0].clone();
            for (k, (block_prefix, block)) in node.blocks.iter().enumerate() {
                let input_name = block.inputs.first().map(|i| i.name.clone()).unwrap_or_default();
                let mut inner = HashMap::from([(input_name.clone(), value.clone())]);
                let mut inner_ranks =
                    HashMap::from([(input_name, ranks.get(&node.inputs[0]).copied().unwrap_or(0))]);
                let p = format!("{block_prefix}.");
                lower_graph(b, block, &p, &mut inner, &mut inner_ranks)?;
                let last =
                    block.outputs.first().and_then(|o| inner.get(o)).cloned().ok_or_else(|| {
                        Error::Config(format!(
                            "ONNX export: block `{block_prefix}` of `{}` has no output",
                            node.name
                        ))
                    })?;
                value = if k + 1 == node.blocks.len() {
                    b.node("Identity", &[&last], &output, vec![]);
                    output.clone()
                } else {
                    last
                };
            }
        } else {
            let lower = ops::lowering(&node.op).ok_or_else(|| {
                Error::Unsupported(format!(
                    "node `{prefix}{}` ({}) has no ONNX exporter yet (the kinds exported: {})",
                    node.name,
                    node.label,
                    ops::SUPPORTED
                ))
            })?;
            let site =
                ops::Site { node, prefix, inputs, ranks: input_ranks, output: output.clone() };
            lower(b, &site)?;
        }
        // A sequence value's steps are those of the sequence its first input came from.
        if shape_sizes(&node.output).contains(&"seq")
            && let Some(origin) = inputs_origin
        {
            b.origin.insert(output.clone(), origin);
        }
        names.insert(node.name.clone(), output);
        ranks.insert(node.name.clone(), shape_sizes(&node.output).len());
    }
    Ok(())
}

/// The sizes of a shape as the graph writes it: `"[batch, 1, 28, 28]"` → `["batch", "1", "28", "28"]`.
pub(crate) fn shape_sizes(shape: &str) -> Vec<&str> {
    let inner = shape.trim().trim_start_matches('[').trim_end_matches(']');
    inner.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// A tensor's name, element type and shape, the runtime sizes named (`batch`, and `steps` for
/// the steps axis).
fn value_info(name: &str, shape: &str, steps: &str, elem_type: i32) -> ValueInfoProto {
    let dim = shape_sizes(shape)
        .into_iter()
        .map(|d| Dimension {
            value: Some(match d.parse::<i64>() {
                Ok(n) => dimension::Value::DimValue(n),
                Err(_) if d == "seq" => dimension::Value::DimParam(steps.to_string()),
                Err(_) => dimension::Value::DimParam(d.to_string()),
            }),
        })
        .collect();
    let tensor = type_proto::Tensor { elem_type, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto { value: Some(type_proto::Value::TensorType(tensor)) }),
    }
}
