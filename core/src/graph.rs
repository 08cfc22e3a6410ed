//! A model's description of itself at run time: `model.graph()` lists its inputs and nodes, each
//! with its kind, attributes (PyTorch's names), inputs, output shape and parameters. The summary
//! table is built from it, and exporters walk it.

use crate::backend::Backend;
use crate::module::Module;
use crate::summary::{Summary, SummaryRow};

/// An attribute value of a node (`kernel_size = 5`, `eps = 1e-5`, `elementwise_affine = true`).
///
/// ```
/// use shapeflow_core::graph::Attr;
/// assert_ne!(Attr::Int(1), Attr::Real(1.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// A size or count.
    Int(usize),
    /// A real number.
    Real(f64),
    /// A flag.
    Flag(bool),
}

/// A model input: its name and shape (`[batch, 1, 28, 28]`).
///
/// ```
/// let i = shapeflow_core::graph::GraphInput { name: "input".into(), shape: "[batch, 784]".into() };
/// assert_eq!(i.name, "input");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GraphInput {
    /// The input's name (`input` for a chain).
    pub name: String,
    /// Its shape, the batch written `batch`.
    pub shape: String,
}

/// One node: a layer of the model and the values it reads.
///
/// ```
/// use shapeflow_core::graph::{Attr, GraphNode};
/// let n = GraphNode { name: "act".into(), op: "Relu".into(), label: "Relu".into(), attrs: vec![],
///     inputs: vec!["fc".into()], output: "[batch, 10]".into(), params: vec![], blocks: vec![], shares: None };
/// assert_eq!((n.num_params(), n.attr("p")), (0, None::<&Attr>));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GraphNode {
    /// The field name (`conv1`).
    pub name: String,
    /// The kind (`Conv2d`), or a custom layer's type.
    pub op: String,
    /// The kind as declared (`Conv2d<1, 6, 5, padding = 2>`), as the summary shows it.
    pub label: String,
    /// The kind's attributes with PyTorch's names, every parameter given (defaults included).
    pub attrs: Vec<(String, Attr)>,
    /// The names of the values it reads: model inputs or earlier nodes.
    pub inputs: Vec<String>,
    /// Its output shape (`[batch, 6, 28, 28]`).
    pub output: String,
    /// Its parameters: full state-dict name and sizes (`conv1.weight`, `[6, 1, 5, 5]`).
    pub params: Vec<(String, Vec<usize>)>,
    /// For a node applying models declared in the same `model!` (`layer1: (BasicBlock,)`):
    /// each model's graph at the shape it is applied to, with the prefix of its state-dict
    /// names (`layer1.0`). Empty for every other node.
    pub blocks: Vec<(String, Graph)>,
    /// For a second use of a layer (`l2: l1(a1)`): the node whose weights it uses.
    pub shares: Option<String>,
}

impl GraphNode {
    /// The attribute `name`, if the node has it.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.params.iter().map(|(_, d)| d.iter().product::<usize>()).sum()
    }
}

/// A model's nodes in evaluation order, with its inputs and outputs. `model!` generates
/// `graph()` for every model (`Net::graph(&net)`); exporters and `summary()` walk it.
///
/// ```
/// use shapeflow_core::graph::{Attr, Graph, GraphInput, GraphNode};
/// let fc = GraphNode {
///     name: "fc".into(), op: "Linear".into(), label: "Linear<4, 2>".into(),
///     attrs: vec![("in_features".into(), Attr::Int(4)), ("out_features".into(), Attr::Int(2))],
///     inputs: vec!["input".into()], output: "[batch, 2]".into(),
///     params: vec![("fc.weight".into(), vec![2, 4]), ("fc.bias".into(), vec![2])], blocks: vec![], shares: None,
/// };
/// let g = Graph { model: "Net".into(), inputs: vec![GraphInput { name: "input".into(), shape: "[batch, 4]".into() }],
///     nodes: vec![fc], outputs: vec!["fc".into()] };
/// assert_eq!(g.node("fc").unwrap().attr("out_features"), Some(&Attr::Int(2)));
/// assert_eq!(g.summary().total_params(), 10);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// The model's name.
    pub model: String,
    /// Its inputs.
    pub inputs: Vec<GraphInput>,
    /// Its nodes, each after the values it reads.
    pub nodes: Vec<GraphNode>,
    /// The names of the values it returns.
    pub outputs: Vec<String>,
}

impl Graph {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The Keras-like summary table: one row per node.
    pub fn summary(&self) -> Summary {
        let input = self.inputs.iter().map(|i| i.shape.clone()).collect::<Vec<_>>().join(", ");
        // A chain (each node reads the one before, one input, the last node the one output)
        // prints no "Reads" column.
        let chain = self.inputs.len() == 1
            && self.nodes.iter().enumerate().all(|(i, n)| {
                let before = if i == 0 { &self.inputs[0].name } else { &self.nodes[i - 1].name };
                n.inputs.len() == 1 && &n.inputs[0] == before
            })
            && self.outputs.len() == 1
            && self.nodes.last().is_some_and(|n| n.name == self.outputs[0]);
        Summary {
            model: self.model.clone(),
            input,
            rows: self
                .nodes
                .iter()
                .map(|n| SummaryRow {
                    name: n.name.clone(),
                    kind: n.label.clone(),
                    output: n.output.clone(),
                    params: n.num_params(),
                    reads: if chain { String::new() } else { n.inputs.join(", ") },
                })
                .collect(),
        }
    }
}

/// A model that describes itself as a [`Graph`]: every `model!` model implements it (its
/// inherent `graph()`), so exporters can take any model generically.
///
/// ```
/// use shapeflow_core::graph::{Described, Graph};
/// fn node_count(m: &impl Described) -> usize { m.graph().nodes.len() }
/// struct Empty;
/// impl Described for Empty {
///     fn graph(&self) -> Graph { Graph { model: "Empty".into(), inputs: vec![], nodes: vec![], outputs: vec![] } }
/// }
/// assert_eq!(node_count(&Empty), 0);
/// ```
pub trait Described {
    /// The model's graph.
    fn graph(&self) -> Graph;
}

/// A model's graph at the input shape `S` it is applied to: what `model!` generates for a model
/// used as a node of another (`DescribedAt<(Dyn, Const<32>, Const<14>, Const<14>)>` for a
/// `BasicBlock` declared with `input x: [32, _, _]`), so the outer graph can include it.
pub trait DescribedAt<S> {
    /// The graph, with the shapes at `S`.
    fn graph_at(&self) -> Graph;
}

/// The parameters of `module` under `prefix`, with their sizes (for generated `graph()`s).
///
/// ```
/// use shapeflow_core::{Tensor, graph::params_of};
/// use shapeflow_cpu::Cpu;
/// let t = Tensor::<(typenum::U3,), Cpu>::zeros(&Cpu::default(), &[3]).unwrap();
/// assert_eq!(params_of::<Cpu, _>(&t, "bias"), [("bias".to_string(), vec![3])]);
/// ```
pub fn params_of<B: Backend, M: Module<B>>(module: &M, prefix: &str) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    let mut path = prefix.to_string();
    module
        .visit_params(&mut path, &mut |name, dims, _| out.push((name.to_string(), dims.to_vec())));
    out
}
