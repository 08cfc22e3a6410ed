//! One lowering per layer kind: how a node of the model's graph becomes ONNX nodes. A kind
//! without an entry in [`lowering`] is an export error naming it.

mod activation;
mod attention;
mod conv;
mod embedding;
mod linear;
mod merge;
mod norm;
mod pool;
mod positions;
mod recurrent;
mod reshape;
mod time_pool;

use shapeflow_core::graph::{Attr, GraphNode};
use shapeflow_core::{Error, Result};

use crate::builder::Builder;

/// A node to lower: the graph node, its state-dict prefix, the ONNX names of its inputs and
/// their ranks (batch included), and the name its output must have.
pub struct Site<'a> {
    /// The node of the model's graph.
    pub node: &'a GraphNode,
    /// The prefix of its weights' names (`layer1.0.` inside a block, else empty).
    pub prefix: &'a str,
    /// The ONNX value names it reads.
    pub inputs: Vec<String>,
    /// Their ranks, the batch axis included.
    pub ranks: Vec<usize>,
    /// The ONNX value name of its output.
    pub output: String,
}

impl Site<'_> {
    /// The state-dict name of the node's tensor `what` (`layer1.0.conv1.weight`); a shared
    /// layer's are its owner's.
    pub fn param(&self, what: &str) -> String {
        let base = self.node.shares.as_deref().unwrap_or(&self.node.name);
        format!("{}{base}.{what}", self.prefix)
    }

    /// The integer attribute `name`.
    pub fn int(&self, name: &str) -> Result<i64> {
        match self.node.attr(name) {
            Some(Attr::Int(v)) => Ok(*v as i64),
            _ => Err(self.missing(name)),
        }
    }

    /// The real attribute `name`.
    pub fn real(&self, name: &str) -> Result<f64> {
        match self.node.attr(name) {
            Some(Attr::Real(v)) => Ok(*v),
            _ => Err(self.missing(name)),
        }
    }

    /// The flag `name` (`default` when the kind has none).
    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.node.attr(name) {
            Some(Attr::Flag(v)) => *v,
            _ => default,
        }
    }

    fn missing(&self, name: &str) -> Error {
        Error::Config(format!(
            "ONNX export: node `{}` ({}) has no attribute `{name}`",
            self.node.name, self.node.op
        ))
    }

    /// The last size of the node's output (`[batch, seq, 64]` → 64).
    pub fn features(&self) -> Result<usize> {
        crate::shape_sizes(&self.node.output)
            .last()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| self.missing("output features"))
    }
}

/// How one kind is lowered.
pub type Lower = fn(&mut Builder, &Site) -> Result<()>;

/// The lowering of the kind named `op`, if it has one.
pub fn lowering(op: &str) -> Option<Lower> {
    Some(match op {
        "Linear" => linear::linear,
        "Conv1d" | "Conv2d" => conv::conv,
        "MaxPool2d" | "AvgPool2d" => pool::pool,
        "GlobalAvgPool2d" => pool::global_avg_pool,
        "Flatten" => reshape::flatten,
        "Narrow" => reshape::narrow,
        "Dropout" | "Dropout2d" => reshape::identity,
        "BatchNorm1d" | "BatchNorm2d" => norm::batch_norm,
        "LayerNorm" => norm::layer_norm,
        "RmsNorm" => norm::rms_norm,
        "Relu" | "Sigmoid" | "Tanh" => activation::plain,
        "LeakyRelu" => activation::leaky_relu,
        "Gelu" => activation::gelu,
        "GeluTanh" => activation::gelu_tanh,
        "Softmax" | "LogSoftmax" => activation::softmax,
        "Add" | "Sub" | "Mul" => merge::elementwise,
        "Concat" => merge::concat,
        "Embedding" => embedding::embedding,
        "Lstm" | "Gru" | "Rnn" | "RnnRelu" => recurrent::recurrent,
        "LastStep" => time_pool::last_step,
        "MeanOverTime" => time_pool::mean_over_time,
        "PositionEmbedding" => positions::position_embedding,
        "SinusoidalPositions" => positions::sinusoidal,
        "MultiheadAttention" | "CrossAttention" => attention::attention,
        _ => return None,
    })
}

/// The kinds with a lowering, for error messages.
///
/// ```
/// assert!(shapeflow_onnx::SUPPORTED.contains("Lstm"));
/// ```
pub const SUPPORTED: &str = "Linear, Conv1d, Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, \
    Flatten, Narrow, Dropout, Dropout2d, BatchNorm1d, BatchNorm2d, LayerNorm, RmsNorm, Relu, \
    LeakyRelu, Sigmoid, Tanh, Gelu, GeluTanh, Softmax, LogSoftmax, Add, Sub, Mul, Concat, \
    Embedding, Lstm, Gru, Rnn, RnnRelu, LastStep, MeanOverTime, PositionEmbedding, \
    SinusoidalPositions, MultiheadAttention, CrossAttention, and models declared in the same \
    model! block";
