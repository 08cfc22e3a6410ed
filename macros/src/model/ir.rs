//! The model as a graph: inputs with symbolic per-sample dimensions, and nodes that name their
//! kind and their inputs. `model!`'s chain syntax lowers into it (each node takes the one before
//! it); inference and expansion walk it. Lowering also validates the names and resolves every
//! node's kind and arguments, collecting every error.

use proc_macro2::Span;
use syn::{Attribute, Ident, Type};

use super::args;
use super::kinds::Kind;
use super::lower_op::{Models, lower_op};
use super::parse::{KindDecl, ModelDef, SizeDecl};

/// One per-sample dimension: a size fixed at compile time, or a named size known at run time.
pub(crate) enum Dim {
    Fixed(usize),
    Runtime(Ident),
    /// `_`: any size (a model used inside others, at several sizes).
    Any,
}

/// A model input: its name and per-sample dimensions (the batch is added).
pub(crate) struct Input {
    pub name: Ident,
    pub dims: Vec<(Dim, Span)>,
}

impl Input {
    /// The sizes, when every one is fixed.
    pub fn fixed_dims(&self) -> Option<Vec<usize>> {
        self.dims
            .iter()
            .enumerate()
            .map(|(k, (d, _))| match d {
                Dim::Fixed(n) => Some(*n),
                // A sequence's steps come first (elsewhere: an error, reported).
                Dim::Runtime(_) if k == 0 => Some(super::infer::SEQ),
                Dim::Runtime(_) | Dim::Any => None,
            })
            .collect()
    }
}

/// A value in the graph: a model input or a node's output.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum NodeRef {
    Input(usize),
    Node(usize),
}

/// What a node computes.
pub(crate) enum Op {
    /// A built-in kind, resolved.
    Builtin(Box<dyn Kind>),
    /// A user layer and, when stated with `#[custom(output = [...])]`, its per-sample output.
    Custom { ty: Box<Type>, stated: Option<Vec<usize>> },
    /// Another use of the layer declared as node `owner` (`l2: l1(a1)`): its weights, its
    /// kind; the gradients of both uses are summed.
    Shared { owner: usize },
    /// Models declared above in the same `model!` block (indices into the block), applied in
    /// order: `block: BasicBlock`, or the sequence `layer1: (BasicBlock, BasicBlock)` whose
    /// parameters are named `layer1.0.…`, `layer1.1.…`.
    /// Each entry: the model's index, its struct's name, and how messages name it.
    Model { models: Vec<(usize, Ident, String)>, sequence: bool },
    /// Resolution failed (an error was recorded).
    Invalid,
}

/// One node: a named layer and the values it reads.
pub(crate) struct Node {
    pub name: Ident,
    /// The node's name in parameter paths (`downsample.0` for `downsample_0`, the first layer
    /// of a sequence of built-in layers); its field's name otherwise.
    pub param: String,
    pub docs: Vec<Attribute>,
    pub op: Op,
    pub inputs: Vec<NodeRef>,
}

impl Node {
    /// How the summary names the node's kind.
    pub fn describe(&self) -> String {
        match &self.op {
            Op::Builtin(k) => k.describe(),
            Op::Custom { ty, .. } => quote::quote!(#ty)
                .to_string()
                .replace(" < ", "<")
                .replace(" >", ">")
                .replace(" ,", ","),
            Op::Model { models, sequence } => {
                let names: Vec<String> = models.iter().map(|(_, _, shown)| shown.clone()).collect();
                match (sequence, names.len()) {
                    (true, 1) => format!("({},)", names[0]),
                    (true, _) => format!("({})", names.join(", ")),
                    (false, _) => names.join(", "),
                }
            }
            Op::Shared { .. } | Op::Invalid => "?".to_string(),
        }
    }
}

/// The whole model.
pub(crate) struct Graph {
    /// How messages name it (`BasicBlock<64, 128, 2>` for a parameterised model's build).
    pub shown: String,
    /// Which build of a parameterised model it is.
    pub build: Option<super::parse::BuildInfo>,
    pub inputs: Vec<Input>,
    pub nodes: Vec<Node>,
    /// The values the model returns, in order (its last layer unless `output (…)` says).
    pub outputs: Vec<NodeRef>,
}

impl Graph {
    /// The one value returned by a model with one output (the first of several).
    pub fn output(&self) -> NodeRef {
        self.outputs[0]
    }

    /// Whether the model takes one input and returns one value (and so is a `Layer`).
    pub fn is_layer(&self) -> bool {
        self.inputs.len() == 1 && self.outputs.len() == 1
    }

    /// The name of value `r` (a node's, or an input's).
    pub fn name_of(&self, r: NodeRef) -> String {
        match r {
            NodeRef::Input(i) => self.inputs[i].name.to_string(),
            NodeRef::Node(i) => self.nodes[i].name.to_string(),
        }
    }
}

/// Lowers a parsed declaration; `models` are the models declared before it in the same block
/// (usable as nodes), `later` the ones after it. Every error goes to `errors`.
pub(crate) fn lower(
    def: &ModelDef,
    models: &[(Ident, String)],
    later: &[Ident],
    errors: &mut Vec<syn::Error>,
) -> Graph {
    check_names(def, errors);
    let inputs: Vec<Input> = def
        .inputs
        .iter()
        .map(|(name, decl)| Input {
            name: name.clone(),
            dims: decl.dims.iter().map(|(d, s)| (lower_dim(d), *s)).collect(),
        })
        .collect();
    let several = inputs.len() > 1 || def.output.as_ref().is_some_and(|o| o.names.len() > 1);
    for (k, (d, span)) in inputs.iter().flat_map(|i| i.dims.iter().enumerate()) {
        if several && matches!(d, Dim::Any) {
            errors.push(syn::Error::new(
                *span,
                "`_`: a model with several inputs or outputs is not used inside another model, so every size is fixed; write it",
            ));
        }
        if let Dim::Runtime(name) = d
            && k > 0
        {
            errors.push(syn::Error::new(
                *span,
                format!(
                    "`{name}`: the one runtime size `model!` knows is a sequence's number of steps, written `seq` as the first per-sample size: `input: [seq, 12]`"
                ),
            ));
        }
    }
    for input in &inputs {
        if let Some((Dim::Runtime(name), span)) = input.dims.first()
            && name != "seq"
        {
            errors.push(syn::Error::new(
                *span,
                format!("`{name}`: a sequence's runtime number of steps is written `seq`: `input: [seq, ...]`"),
            ));
        }
    }
    let written_as_layer = output_written_as_a_layer(def, errors);
    let mut nodes: Vec<Node> = Vec::with_capacity(def.layers.len());
    for (i, l) in def.layers.iter().enumerate() {
        if written_as_layer == Some(i) {
            let inputs = vec![if i == 0 { NodeRef::Input(0) } else { NodeRef::Node(i - 1) }];
            nodes.push(Node {
                name: l.name.clone(),
                param: param_name(l),
                docs: l.docs.clone(),
                op: Op::Invalid,
                inputs,
            });
            continue;
        }
        let op = match shared_owner(def, i) {
            // A reuse of a reuse is a reuse of the owner.
            Some(owner) => match &nodes[owner].op {
                Op::Shared { owner } => Op::Shared { owner: *owner },
                Op::Builtin(k) if k.arity() != 1 => {
                    errors.push(syn::Error::new(
                        l.name.span(),
                        format!(
                            "`{}` reuses `{}`, a {} node, which has no weights to share",
                            l.name,
                            nodes[owner].name,
                            k.name()
                        ),
                    ));
                    Op::Invalid
                }
                Op::Invalid => Op::Invalid,
                _ => Op::Shared { owner },
            },
            None => lower_op(&l.name, &l.kind, &Models { def, earlier: models, later }, errors),
        };
        let inputs = lower_inputs(def, i, &op, errors);
        nodes.push(Node {
            name: l.name.clone(),
            param: param_name(l),
            docs: l.docs.clone(),
            op,
            inputs,
        });
    }
    let before = errors.len();
    let outputs = lower_outputs(def, &nodes, errors);
    // After a misnamed output, which values are unread is a guess: say nothing.
    if errors.len() == before && written_as_layer.is_none() {
        check_every_value_is_read(def, &nodes, &outputs, errors);
    }
    Graph { shown: def.shown.clone(), build: def.build.clone(), inputs, nodes, outputs }
}

/// The layer's name in parameter paths.
fn param_name(l: &super::parse::LayerDecl) -> String {
    l.param_name.clone().unwrap_or_else(|| l.name.to_string())
}

/// `output: (a, b)` naming layers: the outputs written as a layer (a sequence named `output`).
/// One error; returns the layer's index.
fn output_written_as_a_layer(def: &ModelDef, errors: &mut Vec<syn::Error>) -> Option<usize> {
    let i = def.layers.iter().position(|l| {
        l.name == "output"
            && matches!(&l.kind, KindDecl::Sequence { items } if items.iter().any(|m| def.layers.iter().any(|l| l.name == m.kind)))
    })?;
    let KindDecl::Sequence { items } = &def.layers[i].kind else { return None };
    let names: Vec<String> = items.iter().map(|m| m.kind.to_string()).collect();
    errors.push(syn::Error::new(
        def.layers[i].name.span(),
        format!(
            "`output: (…)` declares a layer named `output`; to return values, write `output ({})` without a colon",
            names.join(", ")
        ),
    ));
    Some(i)
}

/// The values the model returns: those of `output (a, b)`, else its last layer.
fn lower_outputs(def: &ModelDef, nodes: &[Node], errors: &mut Vec<syn::Error>) -> Vec<NodeRef> {
    let last = if nodes.is_empty() { NodeRef::Input(0) } else { NodeRef::Node(nodes.len() - 1) };
    let Some(decl) = &def.output else { return vec![last] };
    let mut outputs: Vec<NodeRef> = Vec::new();
    for n in &decl.names {
        let Some(i) = nodes.iter().position(|node| node.name == *n) else {
            let msg = if def.inputs.iter().any(|(name, _)| name == n) {
                format!(
                    "`{n}` is an input of `{}`; a model returns values its layers compute",
                    def.shown
                )
            } else {
                let names: Vec<String> = nodes.iter().map(|n| n.name.to_string()).collect();
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                match args::suggest(&n.to_string(), &refs, &[]) {
                    Some(s) => format!(
                        "`{n}` is not a layer of `{}`\n  = help: did you mean `{s}`?",
                        def.shown
                    ),
                    None => format!(
                        "`{n}` is not a layer of `{}`; its layers are `{}`",
                        def.shown,
                        names.join("`, `")
                    ),
                }
            };
            errors.push(syn::Error::new(n.span(), msg));
            continue;
        };
        if outputs.contains(&NodeRef::Node(i)) {
            errors.push(syn::Error::new(n.span(), format!("`{n}` is returned twice")));
            continue;
        }
        outputs.push(NodeRef::Node(i));
    }
    if outputs.is_empty() { vec![last] } else { outputs }
}

/// The earlier layer whose weights layer `i` reuses: `l2: l1(a1)` names a layer where a kind
/// goes. A layer that itself reuses another cannot be reused (name the owner instead).
fn shared_owner(def: &ModelDef, i: usize) -> Option<usize> {
    let KindDecl::Builtin { kind, args, .. } = &def.layers[i].kind else { return None };
    if !args.is_empty() {
        return None;
    }
    def.layers[..i].iter().position(|l| l.name == *kind)
}

/// The values layer `i` reads: the names in `(a, b)` after its kind (the input, or layers above
/// it), by default the layer before it; as many as its kind takes.
fn lower_inputs(def: &ModelDef, i: usize, op: &Op, errors: &mut Vec<syn::Error>) -> Vec<NodeRef> {
    let layer = &def.layers[i];
    let previous = if i == 0 { NodeRef::Input(0) } else { NodeRef::Node(i - 1) };
    let arity = match op {
        Op::Builtin(k) => k.arity(),
        _ => 1,
    };
    let Some(names) = &layer.inputs else {
        if arity != 1
            && let Op::Builtin(k) = op
        {
            let before = if i == 0 {
                def.inputs[0].0.to_string()
            } else {
                def.layers[i - 1].name.to_string()
            };
            errors.push(syn::Error::new(
                layer.name.span(),
                format!(
                    "`{}` ({}) merges two values: name them, e.g. `{}: {}({}, {before})`",
                    layer.name,
                    k.name(),
                    layer.name,
                    k.name(),
                    def.inputs[0].0
                ),
            ));
        }
        return vec![previous; arity];
    };
    if names.len() != arity {
        let kind = match op {
            Op::Builtin(k) => k.name().to_string(),
            _ => "custom".to_string(),
        };
        let what = if arity == 1 { "one value" } else { "two values" };
        let span = names.first().map_or(layer.name.span(), |n| n.span());
        // Two values into a one-value layer: merge them first, in a node of their own.
        let help = match (op, names.as_slice()) {
            (Op::Builtin(k), [a, b]) if arity == 1 => {
                let merged = format!("{}_in", layer.name);
                format!(
                    "\n  = help: insert `{merged}: Add({a}, {b}),` before `{}` and write `{}: {}({merged})` (or `Concat` to keep both side by side)",
                    layer.name,
                    layer.name,
                    k.describe()
                )
            }
            _ => String::new(),
        };
        errors.push(syn::Error::new(
            span,
            format!("`{}` ({kind}) reads {what}, not {}{help}", layer.name, names.len()),
        ));
        return vec![previous; arity];
    }
    names
        .iter()
        .map(|n| {
            if let Some(k) = def.inputs.iter().position(|(name, _)| name == n) {
                return NodeRef::Input(k);
            }
            match def.layers.iter().position(|l| l.name == *n) {
                Some(j) if j < i => NodeRef::Node(j),
                Some(_) => {
                    errors.push(syn::Error::new(
                        n.span(),
                        format!(
                            "`{}` reads `{n}`, which is declared after it; a layer reads the input or the layers above it\n  = help: move the line of `{n}` above `{}`",
                            layer.name, layer.name
                        ),
                    ));
                    previous
                }
                None => {
                    let known: Vec<String> = def
                        .inputs
                        .iter()
                        .map(|(name, _)| name.to_string())
                        .chain(def.layers[..i].iter().map(|l| l.name.to_string()))
                        .collect();
                    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
                    let help = match args::suggest(&n.to_string(), &refs, &[]) {
                        Some(s) => format!("\n  = help: did you mean `{s}`?"),
                        None => format!(
                            "\n  = help: it can read {}",
                            refs.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    errors.push(syn::Error::new(
                        n.span(),
                        format!(
                            "`{}` reads `{n}`, which is neither {} nor a layer of `{}`{help}",
                            layer.name,
                            inputs_phrase(def),
                            def.shown
                        ),
                    ));
                    previous
                }
            }
        })
        .collect()
}

/// Every layer but the last (the output) and the input must be read by some layer: a value
/// nothing reads would get no gradient.
fn check_every_value_is_read(
    def: &ModelDef,
    nodes: &[Node],
    outputs: &[NodeRef],
    errors: &mut Vec<syn::Error>,
) {
    let read = |r: NodeRef| nodes.iter().any(|n| n.inputs.contains(&r));
    if nodes.is_empty() {
        return;
    }
    let returned = match &def.output {
        Some(_) => {
            let names: Vec<String> = outputs
                .iter()
                .filter_map(|r| match r {
                    NodeRef::Node(i) => Some(format!("`{}`", nodes[*i].name)),
                    NodeRef::Input(_) => None,
                })
                .collect();
            format!("the model returns {}", names.join(", "))
        }
        None => format!("the model's output is its last layer, `{}`", nodes[nodes.len() - 1].name),
    };
    // What the model returns now, to which the help adds the unread value.
    let returned_now: Vec<String> = outputs
        .iter()
        .map(|&r| match r {
            NodeRef::Node(i) => nodes[i].name.to_string(),
            NodeRef::Input(k) => def.inputs[k].0.to_string(),
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        if !read(NodeRef::Node(i)) && !outputs.contains(&NodeRef::Node(i)) {
            let name = &node.name;
            errors.push(syn::Error::new(
                name.span(),
                format!(
                    "`{name}` is computed but no layer reads it; {returned}\n  = help: remove `{name}`, or return it too: `output ({}, {name})` after the layers",
                    returned_now.join(", ")
                ),
            ));
        }
    }
    for (k, (name, _)) in def.inputs.iter().enumerate() {
        if !read(NodeRef::Input(k)) {
            errors.push(syn::Error::new(
                name.span(),
                format!(
                    "no layer reads the input `{name}`\n  = help: remove `input {name}`, or name it in the layer that should read it: `layer: Kind<…>({name})`"
                ),
            ));
        }
    }
}

/// "the input `x`", or "an input (`a`, `b`)".
fn inputs_phrase(def: &ModelDef) -> String {
    match def.inputs.as_slice() {
        [(one, _)] => format!("the input `{one}`"),
        all => format!(
            "an input ({})",
            all.iter().map(|(i, _)| format!("`{i}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn lower_dim(d: &SizeDecl) -> Dim {
    match d {
        SizeDecl::Fixed(n) => Dim::Fixed(*n),
        SizeDecl::Named(id) => Dim::Runtime(id.clone()),
        // Arithmetic outside a parameterised model's build was reported there.
        SizeDecl::Any | SizeDecl::Expr(_) => Dim::Any,
    }
}

/// Reserved and duplicate names, and an empty model.
fn check_names(def: &ModelDef, errors: &mut Vec<syn::Error>) {
    let mut seen: Vec<&Ident> = Vec::new();
    for layer in &def.layers {
        if let Some((input, _)) = def.inputs.iter().find(|(i, _)| *i == layer.name && *i != "input")
        {
            let mut e = syn::Error::new(
                layer.name.span(),
                format!("`{}` is already the name of an input", layer.name),
            );
            e.combine(syn::Error::new(
                input.span(),
                format!("the input `{input}` is declared here"),
            ));
            errors.push(e);
        } else if layer.name == "input" {
            errors.push(syn::Error::new(
                layer.name.span(),
                "`input` is reserved for the model's input shape",
            ));
        } else if let Some(first) = seen.iter().find(|n| **n == &layer.name) {
            let mut e = syn::Error::new(
                layer.name.span(),
                format!("duplicate layer name `{}`", layer.name),
            );
            e.combine(syn::Error::new(
                first.span(),
                format!("`{}` first declared here", layer.name),
            ));
            errors.push(e);
        }
        seen.push(&layer.name);
    }
    if def.layers.is_empty() {
        let flat: usize = def.inputs[0]
            .1
            .dims
            .iter()
            .map(|(d, _)| match d {
                SizeDecl::Fixed(n) => *n,
                SizeDecl::Named(_) | SizeDecl::Any | SizeDecl::Expr(_) => 1,
            })
            .product();
        errors.push(syn::Error::new(
            def.body_span,
            format!(
                "model `{}` has no layers; add at least one, e.g. `fc: Linear<{flat}, 10>,`",
                def.shown
            ),
        ));
    }
}
