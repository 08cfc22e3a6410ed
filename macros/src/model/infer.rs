//! Generic shape inference over the graph: each node's per-sample output shape from its
//! input's, by the node's kind; errors carry the shape trace of the node's branch
//! ("input [1, 28, 28] → conv1 [6, 24, 24] → …").

use proc_macro2::Span;
use syn::Ident;

use super::ir::{Graph, NodeRef, Op};
use super::kinds::Out;
use super::kinds::{Kind, Steps};

/// `[16, 4, 4]`.
pub(crate) fn fmt_shape(s: &[usize]) -> String {
    format!("[{}]", s.iter().map(|&d| fmt_size(d)).collect::<Vec<_>>().join(", "))
}

/// A sequence's runtime number of steps in a per-sample shape (`input: [seq, 12]`): the
/// sizes after it are fixed, and it is written `seq` in every message.
pub(crate) const SEQ: usize = usize::MAX;

/// One size in decimal, or `seq`.
pub(crate) fn fmt_size(d: usize) -> String {
    if d == SEQ { "seq".to_string() } else { d.to_string() }
}

/// Whether a per-sample shape is a sequence (`[seq, …]`).
pub(crate) fn is_seq(s: &[usize]) -> bool {
    s.first() == Some(&SEQ)
}

/// `16 × 4 × 4`.
pub(crate) fn product(s: &[usize]) -> String {
    s.iter().map(|&d| fmt_size(d)).collect::<Vec<_>>().join(" × ")
}

/// Where a kind's shape rule runs: the node, what feeds it, and the error sink.
pub(crate) struct Site<'a> {
    name: &'a Ident,
    prev: String,
    note: Option<&'a str>,
    /// The feeding node's lookup table, when it is an `Embedding` ([`Kind::table`]).
    prev_table: Option<(usize, usize)>,
    /// The built-in layer that made each value the node reads, where one did.
    producers: Vec<Option<Producer>>,
    trace: &'a str,
    errors: &'a mut Vec<syn::Error>,
}

impl Site<'_> {
    /// The node's name (`fc1`).
    pub fn name(&self) -> &Ident {
        self.name
    }
    /// The name of the node feeding this one (`act1`, or `input`).
    pub fn prev(&self) -> &str {
        &self.prev
    }
    /// The input's note, if the node that made it left one.
    pub fn note(&self) -> Option<&str> {
        self.note
    }
    /// The built-in layer that made the `k`-th value the node reads, if one did.
    pub fn producer(&self, k: usize) -> Option<&Producer> {
        self.producers.get(k).and_then(Option::as_ref)
    }
    /// `(num_embeddings, embedding_dim)` of the feeding `Embedding`, if it is one.
    pub fn prev_table(&self) -> Option<(usize, usize)> {
        self.prev_table
    }
    /// Records an error at `span`, followed by the shape trace up to this node.
    pub fn err(&mut self, span: Span, msg: String) {
        let note = format!("\n  = note: {}", self.trace);
        self.errors.push(syn::Error::new(span, msg + &note));
    }
}

/// A built-in layer as a help can rewrite it: its name, its kind as written, its attributes.
pub(crate) struct Producer {
    pub name: String,
    pub written: String,
    pub attrs: Vec<(&'static str, super::kinds::Attr)>,
}

impl Producer {
    /// Integer attribute `name` (`stride`, `padding`).
    pub fn int(&self, name: &str) -> Option<usize> {
        self.attrs.iter().find_map(|(n, a)| match a {
            super::kinds::Attr::Int(v) if *n == name => Some(*v),
            _ => None,
        })
    }
}

/// Per-sample shapes of every value: `inputs[i]` for the model's inputs, `nodes[i]` for node
/// `i`'s output; `None` where only the type system knows it (after a custom layer whose output
/// is not stated, or after an invalid layer).
#[derive(Clone)]
pub(crate) struct Shapes {
    pub inputs: Vec<Option<Vec<usize>>>,
    pub nodes: Vec<Option<Vec<usize>>>,
}

impl Shapes {
    /// The shape of value `r`.
    pub fn of(&self, r: NodeRef) -> Option<&Vec<usize>> {
        match r {
            NodeRef::Input(i) => self.inputs[i].as_ref(),
            NodeRef::Node(i) => self.nodes[i].as_ref(),
        }
    }
    /// The model output's shape, else the last shape known (for the fallback stub).
    pub fn last_known(&self, g: &Graph) -> Vec<usize> {
        self.of(g.output())
            .or_else(|| self.nodes.iter().rev().flatten().next())
            .or_else(|| self.inputs.iter().flatten().next())
            .cloned()
            .unwrap_or_default()
    }
}

/// The shapes at which the models of a block are used: each model of the block at each input
/// shape it is applied to (its declared one, when fixed, and each use inside a later model).
#[derive(Default)]
pub(crate) struct Instances {
    pub list: Vec<Instance>,
}

/// One model at one input shape, and the shapes of its values there.
pub(crate) struct Instance {
    pub model: usize,
    pub input: Vec<usize>,
    pub shapes: Shapes,
}

impl Instances {
    fn find(&self, model: usize, input: &[usize]) -> Option<&Instance> {
        self.list.iter().find(|i| i.model == model && i.input == input)
    }
}

/// Whether `shape` is what `input` declares (`_` takes any size).
fn fits(input: &super::ir::Input, shape: &[usize]) -> bool {
    input.dims.len() == shape.len()
        && input.dims.iter().zip(shape).all(|((d, _), &n)| match d {
            super::ir::Dim::Fixed(m) => *m == n,
            super::ir::Dim::Runtime(_) => n == SEQ,
            super::ir::Dim::Any => n != SEQ,
        })
}

/// When only the first axis of `shape` misses the nested model's declared input (channels or
/// features), the layer that projects it, as a `help:` line: a 1×1 `Conv2d` for feature maps, a
/// `Linear` for vectors and sequences of them.
fn projection_help(input: &super::ir::Input, shape: &[usize], prev: &str, node: &Ident) -> String {
    match projection_layer(input, shape) {
        Some(layer) => {
            format!("\n  = help: insert `{prev}_proj: {layer},` between `{prev}` and `{node}`")
        }
        None => String::new(),
    }
}

/// The built-in layer that maps `shape` onto `input`'s declared sizes when only the first
/// (channels or features) differs: `Conv2d<16, 8, 1>`, `Linear<16, 8>`.
fn projection_layer(input: &super::ir::Input, shape: &[usize]) -> Option<String> {
    let dims = &input.dims;
    if dims.len() != shape.len() {
        return None;
    }
    let rest_fits = dims.iter().zip(shape).skip(1).all(|((d, _), &n)| match d {
        super::ir::Dim::Fixed(m) => *m == n,
        super::ir::Dim::Runtime(_) => n == SEQ,
        super::ir::Dim::Any => n != SEQ,
    });
    match (&dims[0].0, shape) {
        (super::ir::Dim::Fixed(want), [got, _, _]) if rest_fits => {
            Some(format!("Conv2d<{got}, {want}, 1>"))
        }
        (super::ir::Dim::Fixed(want), [got]) => Some(format!("Linear<{got}, {want}>")),
        (super::ir::Dim::Runtime(_), [s, got]) if *s == SEQ => match &dims[1].0 {
            super::ir::Dim::Fixed(want) => Some(format!("Linear<{got}, {want}>")),
            _ => None,
        },
        _ => None,
    }
}

/// For a parameterised model's build given another size where its input names a parameter
/// (`[IN, _, _]`): the build that takes it (`Block<16, 64>`).
fn rebuild_help(model: &Graph, shape: &[usize]) -> String {
    let Some(b) = &model.build else { return String::new() };
    let dims = &model.inputs[0].dims;
    if dims.len() != shape.len() || b.input_params.len() != shape.len() {
        return String::new();
    }
    let mut values = b.values.clone();
    for (k, ((d, _), &got)) in dims.iter().zip(shape).enumerate() {
        let fits = match d {
            super::ir::Dim::Fixed(m) => *m == got,
            super::ir::Dim::Runtime(_) => got == SEQ,
            super::ir::Dim::Any => got != SEQ,
        };
        match b.input_params[k] {
            Some(p) if !fits => values[p] = got as u64,
            _ if !fits => return String::new(),
            _ => {}
        }
    }
    let shown: Vec<String> = values.iter().map(u64::to_string).collect();
    format!(
        "\n  = help: to build `{}` for the size it is given, write `{}<{}>`",
        b.template,
        b.template,
        shown.join(", ")
    )
}

/// "1 input", "2 inputs".
fn count(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// `[32, _, _]`.
fn fmt_declared(input: &super::ir::Input) -> String {
    let dims: Vec<String> = input
        .dims
        .iter()
        .map(|(d, _)| match d {
            super::ir::Dim::Fixed(n) => n.to_string(),
            super::ir::Dim::Runtime(id) => id.to_string(),
            super::ir::Dim::Any => "_".to_string(),
        })
        .collect();
    format!("[{}]", dims.join(", "))
}

/// The shapes of model `m` of the block applied to `input`, inferred once per shape; the
/// errors found there get a note naming the use (`layer2` of `ResNet`).
fn instance_output(
    block: &[Graph],
    m: usize,
    input: &[usize],
    used_by: &str,
    instances: &mut Instances,
    errors: &mut Vec<syn::Error>,
) -> Option<Vec<usize>> {
    if let Some(i) = instances.find(m, input) {
        return i.shapes.of(block[m].output()).cloned();
    }
    let before = errors.len();
    let shapes = infer_inputs(block, m, vec![Some(input.to_vec())], instances, errors);
    let model = &block[m].shown;
    for e in &mut errors[before..] {
        let note = format!("\n  = note: {used_by} applies `{model}` to {}", fmt_shape(input));
        *e = syn::Error::new(e.span(), e.to_string() + &note);
    }
    let out = shapes.of(block[m].output()).cloned();
    instances.list.push(Instance { model: m, input: input.to_vec(), shapes });
    out
}

/// Runs the shape rules of model `m` of the block at its declared input (when every size is
/// fixed: a model with a `_` size is checked where it is used), recording the instance.
pub(crate) fn infer(
    block: &[Graph],
    m: usize,
    instances: &mut Instances,
    errors: &mut Vec<syn::Error>,
) -> Shapes {
    let g = &block[m];
    let inputs: Vec<Option<Vec<usize>>> = g.inputs.iter().map(|i| i.fixed_dims()).collect();
    let shapes = infer_inputs(block, m, inputs.clone(), instances, errors);
    if let Some(Some(input)) = inputs.first()
        && instances.find(m, input).is_none()
    {
        instances.list.push(Instance { model: m, input: input.clone(), shapes: shapes.clone() });
    }
    shapes
}

/// A node applying models of the block (one, or a sequence in turn): each checked against its
/// declared input and inferred at the shape it is given.
fn model_node(
    block: &[Graph],
    models: &[(usize, Ident, String)],
    input: &[usize],
    used_by: &str,
    site: &mut Site<'_>,
    instances: &mut Instances,
) -> Option<Vec<usize>> {
    let node = site.name().clone();
    let mut shape = input.to_vec();
    for (position, (k, name, shown)) in models.iter().enumerate() {
        let model = &block[*k];
        if !model.is_layer() {
            site.err(
                name.span(),
                format!(
                    "`{node}`: the model `{shown}` takes {} and returns {}; a model used as a node takes one input and returns one value",
                    count(model.inputs.len(), "input"),
                    count(model.outputs.len(), "value")
                ),
            );
            return None;
        }
        if !fits(&model.inputs[0], &shape) {
            let got = if position == 0 {
                format!("`{}` produces {}", site.prev(), fmt_shape(&shape))
            } else {
                format!(
                    "`{}` before it in the sequence produces {}",
                    models[position - 1].2,
                    fmt_shape(&shape)
                )
            };
            let rebuild = rebuild_help(model, &shape);
            let help = if position == 0 {
                rebuild + &projection_help(&model.inputs[0], &shape, site.prev(), &node)
            } else {
                // A projection between the two, as an entry of the sequence.
                let inside = projection_layer(&model.inputs[0], &shape).map(|layer| {
                    let mut items: Vec<String> = models.iter().map(|m| m.2.clone()).collect();
                    items.insert(position, layer);
                    format!("\n  = help: write `{node}: ({})`", items.join(", "))
                });
                rebuild + &inside.unwrap_or_default()
            };
            site.err(
                name.span(),
                format!(
                    "`{node}`: the model `{shown}` takes input {} but {got}{help}",
                    fmt_declared(&model.inputs[0])
                ),
            );
            return None;
        }
        shape = instance_output(block, *k, &shape, used_by, instances, site.errors)?;
    }
    Some(shape)
}

/// Runs every node's shape rule in order (nodes come after their inputs).
fn infer_inputs(
    block: &[Graph],
    m: usize,
    inputs: Vec<Option<Vec<usize>>>,
    instances: &mut Instances,
    errors: &mut Vec<syn::Error>,
) -> Shapes {
    let g = &block[m];
    let traces_in: Vec<String> = g
        .inputs
        .iter()
        .zip(&inputs)
        .map(|(i, s)| format!("{} {}", i.name, s.as_deref().map_or("[?]".into(), fmt_shape)))
        .collect();
    let mut shapes = Shapes { inputs, nodes: Vec::with_capacity(g.nodes.len()) };
    let mut notes: Vec<Option<String>> = Vec::with_capacity(g.nodes.len());
    let mut traces: Vec<String> = Vec::with_capacity(g.nodes.len());
    for node in &g.nodes {
        let from = node.inputs[0];
        let trace_of = |r: NodeRef, traces_in: &[String], traces: &[String]| match r {
            NodeRef::Input(i) => traces_in[i].clone(),
            NodeRef::Node(i) => traces[i].clone(),
        };
        let trace = trace_of(from, &traces_in, &traces);
        let note = match from {
            NodeRef::Input(_) => None,
            NodeRef::Node(i) => notes[i].as_deref(),
        };
        // A merge's errors show both branches' traces, and name both values.
        let (site_trace, prev) = match node.inputs.get(1) {
            Some(&second) => (
                format!("{trace}\n  = note: {}", trace_of(second, &traces_in, &traces)),
                format!("{}, {}", g.name_of(from), g.name_of(second)),
            ),
            None => (trace.clone(), g.name_of(from)),
        };
        let prev_table = match from {
            NodeRef::Node(i) => match &g.nodes[i].op {
                Op::Builtin(kind) => kind.table(),
                _ => None,
            },
            NodeRef::Input(_) => None,
        };
        let producers = node
            .inputs
            .iter()
            .map(|&r| match r {
                NodeRef::Node(i) => match &g.nodes[i].op {
                    Op::Builtin(kind) => Some(Producer {
                        name: g.nodes[i].name.to_string(),
                        written: kind.describe(),
                        attrs: kind.attrs(),
                    }),
                    _ => None,
                },
                NodeRef::Input(_) => None,
            })
            .collect();
        let mut site = Site {
            name: &node.name,
            prev,
            note,
            prev_table,
            producers,
            trace: &site_trace,
            errors,
        };
        let errors_before = site.errors.len();
        // A reused layer follows its owner's rule on its own input.
        let op = match &node.op {
            Op::Shared { owner } => &g.nodes[*owner].op,
            op => op,
        };
        let out: Option<Out> = match (op, shapes.of(from)) {
            (Op::Custom { stated, .. }, _) => stated.clone().map(Out::new),
            (Op::Model { models, .. }, Some(input)) => {
                let input = input.clone();
                let used_by = format!("`{}` of `{}`", node.name, g.shown);
                model_node(block, models, &input, &used_by, &mut site, instances).map(Out::new)
            }
            (Op::Invalid | Op::Shared { .. }, _) => None,
            (Op::Builtin(kind), Some(input)) if kind.arity() == 2 => {
                match node.inputs.get(1).and_then(|&r| shapes.of(r)) {
                    Some(second) => {
                        let (a, b) = (input.clone(), second.clone());
                        infer2_steps(kind.as_ref(), &mut site, &a, &b)
                    }
                    None => {
                        if let Some(&NodeRef::Node(i)) = node.inputs.get(1)
                            && matches!(g.nodes[i].op, Op::Custom { stated: None, .. })
                        {
                            let custom = &g.nodes[i].name;
                            site.err(
                                node.name.span(),
                                format!(
                                    "`{}` reads the custom layer `{custom}`, whose output shape `model!` cannot see\n  = help: state it: `#[custom(output = [...])] {custom}: ...`, with its per-sample output shape",
                                    node.name
                                ),
                            );
                        }
                        None
                    }
                }
            }
            (Op::Builtin(kind), Some(input)) => {
                let input = input.clone();
                infer_steps(kind.as_ref(), &mut site, &input)
            }
            // A built-in layer right after a custom layer whose output `model!` cannot see:
            // the custom layer must state it, so every later check stays in decimal.
            (Op::Builtin(_) | Op::Model { .. }, None) => {
                if let NodeRef::Node(i) = from
                    && matches!(g.nodes[i].op, Op::Custom { stated: None, .. })
                {
                    let custom = &g.nodes[i].name;
                    let name = &node.name;
                    site.err(
                        name.span(),
                        format!(
                            "`{name}` follows the custom layer `{custom}`, whose output shape `model!` cannot see\n  = help: state it: `#[custom(output = [...])] {custom}: ...`, with its per-sample output shape"
                        ),
                    );
                }
                None
            }
        };
        // A reused layer's errors: the owner's rule, but not its advice to rewrite the layer.
        if let Op::Shared { owner } = node.op {
            let owner = &g.nodes[owner];
            let reads = g.name_of(from);
            for e in &mut errors[errors_before..] {
                let text = e.to_string();
                // The owner's rule suggests rewriting the layer, which would change the owner
                // too: offer it as a layer of the node's own instead.
                let own = text
                    .lines()
                    .find_map(|l| l.trim_start().strip_prefix("= help: write `"))
                    .and_then(|l| l.split('`').next())
                    .map(|layer| format!("\n  = help: for a layer of its own, not shared, write `{layer}({reads})`"))
                    .unwrap_or_default();
                let kept: Vec<&str> =
                    text.lines().filter(|l| !l.trim_start().starts_with("= help: write")).collect();
                let note = format!(
                    "\n  = note: `{}` reuses `{}` ({}): its input must be what `{}` takes",
                    node.name,
                    owner.name,
                    owner.describe(),
                    owner.name
                );
                let (first, rest) = kept.split_first().map_or(("", &[][..]), |(f, r)| (*f, r));
                let rest: String = rest.iter().map(|l| format!("\n{l}")).collect();
                *e = syn::Error::new(node.name.span(), format!("{first}{own}{rest}{note}"));
            }
        }
        let shape = out.as_ref().map(|o| o.shape.clone());
        traces.push(format!(
            "{trace} → {} {}",
            node.name,
            shape.as_deref().map_or("[?]".into(), fmt_shape)
        ));
        notes.push(out.and_then(|o| o.note));
        shapes.nodes.push(shape);
    }
    shapes
}

/// A built-in kind's rule on a sequence input: a kind over the steps (`Lstm`, `LastStep`) sees
/// the whole `[seq, …]`; a kind applied at each step (`Linear`, `Relu`) sees one step's shape;
/// any other kind is an error that names the reductions.
fn infer_steps(kind: &dyn Kind, site: &mut Site<'_>, input: &[usize]) -> Option<Out> {
    if !is_seq(input) {
        return kind.infer(site, input);
    }
    match kind.steps() {
        Steps::Sequence => kind.infer(site, input),
        Steps::Each | Steps::EachWrapped => {
            let out = kind.infer(site, &input[1..])?;
            Some(Out { shape: [&[SEQ][..], &out.shape].concat(), note: out.note })
        }
        Steps::Sample => {
            per_sample_error(kind, site, input);
            None
        }
    }
}

/// [`infer_steps`] for the merge kinds: both inputs sequences (or neither).
fn infer2_steps(kind: &dyn Kind, site: &mut Site<'_>, a: &[usize], b: &[usize]) -> Option<Out> {
    match (is_seq(a), is_seq(b), kind.steps()) {
        (false, false, _) => kind.infer2(site, a, b),
        (true, true, Steps::Each | Steps::EachWrapped) => {
            let out = kind.infer2(site, &a[1..], &b[1..])?;
            Some(Out { shape: [&[SEQ][..], &out.shape].concat(), note: out.note })
        }
        (true, true, Steps::Sequence) => kind.infer2(site, a, b),
        (true, true, _) => {
            per_sample_error(kind, site, a);
            None
        }
        _ => {
            let name = site.name().clone();
            site.err(
                name.span(),
                format!(
                    "`{name}` ({}) merges a sequence and a single vector per sample: {} and {}\n  = help: reduce the sequence first (`LastStep`, `MeanOverTime`) or merge two sequences",
                    kind.name(),
                    fmt_shape(a),
                    fmt_shape(b)
                ),
            );
            None
        }
    }
}

fn per_sample_error(kind: &dyn Kind, site: &mut Site<'_>, input: &[usize]) {
    let (name, prev) = (site.name().clone(), site.prev().to_string());
    let reduced = fmt_shape(&input[1..]);
    site.err(
        name.span(),
        format!(
            "`{name}` ({}) needs fixed per-sample sizes, but `{prev}` produces a sequence {} whose number of steps is known only at run time\n  = help: reduce the steps first: `last: LastStep,` (each sample's last valid step) or `pool: MeanOverTime,` (the mean of its valid steps), both giving {reduced}",
            kind.name(),
            fmt_shape(input)
        ),
    );
}
