//! What expansion needs per node: its field type, the types of the values it reads and makes,
//! the trait it is called through, and the `where` clauses for types only rustc can see.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::fuse::Fused;
use super::spans::{KEEP_SPANS, with_span};
use crate::model::infer::{Shapes, is_seq};
use crate::model::ir::{Graph, NodeRef, Op};
use crate::model::kinds::{Steps, private};

/// `(Dyn, Const<1>, Const<28>, Const<28>)` for a per-sample shape `[1, 28, 28]`.
pub(crate) fn shape_type(per_sample: &[usize]) -> TokenStream {
    let p = private();
    let dims = per_sample.iter().map(|&d| {
        if d == crate::model::infer::SEQ {
            quote!(#p::Dyn)
        } else {
            crate::dim::const_type(d as u64)
        }
    });
    quote!((#p::Dyn, #(#dims,)*))
}

/// The trait a node is called through, and its method names.
pub(crate) struct Call {
    /// A custom layer with a stated output: its output is relabelled with the stated shape
    /// (a generated check proves the two types equal).
    pub retype: bool,
    pub via: TokenStream,
    pub forward: syn::Ident,
    pub forward_train: syn::Ident,
    pub backward: syn::Ident,
    /// The parameter-gradients-only backward (a node reading a model input).
    pub backward_params: syn::Ident,
    /// A two-input node called through `Merge` (its backward gives both input gradients).
    pub merge: bool,
}

impl Call {
    fn new(sized: bool, retype: bool, input: &TokenStream, output: Option<&TokenStream>) -> Call {
        let p = private();
        match output {
            Some(out) if sized => Call {
                retype: false,
                via: quote!(#p::LayerTo<#input, #out, B>),
                forward: format_ident!("forward_to"),
                forward_train: format_ident!("forward_train_to"),
                backward: format_ident!("backward_to"),
                backward_params: format_ident!("backward_params_to"),
                merge: false,
            },
            _ => Call {
                retype: retype && output.is_some(),
                via: quote!(#p::Layer<#input, B>),
                forward: format_ident!("forward"),
                forward_train: format_ident!("forward_train"),
                backward: format_ident!("backward"),
                backward_params: format_ident!("backward_params"),
                merge: false,
            },
        }
    }

    /// A merge node reading values of types `a` and `b` into `out`.
    fn merge(a: &TokenStream, b: &TokenStream, out: &TokenStream) -> Call {
        let p = private();
        Call {
            retype: false,
            via: quote!(#p::Merge<#a, #b, #out, B>),
            forward: format_ident!("forward"),
            forward_train: format_ident!("forward_train"),
            backward: format_ident!("backward"),
            backward_params: format_ident!("backward"),
            merge: true,
        }
    }
}

/// The expansion plan, one entry per node.
pub(crate) struct Plan {
    pub names: Vec<syn::Ident>,
    /// Each node's name in parameter paths (`downsample.0` for `downsample_0`).
    pub params: Vec<String>,
    /// The node whose field each node calls: itself, or the owner of a reused layer.
    pub owner: Vec<usize>,
    pub types: Vec<TokenStream>,
    /// Each model input's type.
    pub input_types: Vec<TokenStream>,
    /// Each node's output type.
    pub output_types: Vec<TokenStream>,
    pub calls: Vec<Call>,
    pub where_clauses: Vec<TokenStream>,
    /// Nodes whose layer runs at each step of a sequence through `PerStep` (a `Linear` after an
    /// `Lstm`).
    pub per_step: Vec<bool>,
    /// Pairs of nodes run as one pass (an `Embedding` and the `Lstm` reading it).
    pub fused: Fused,
}

impl Plan {
    pub fn new(g: &Graph, shapes: &Shapes) -> Plan {
        let p = private();
        let names: Vec<syn::Ident> = g.nodes.iter().map(|n| n.name.clone()).collect();
        let owner: Vec<usize> = (0..g.nodes.len())
            .map(|i| match g.nodes[i].op {
                Op::Shared { owner } => owner,
                _ => i,
            })
            .collect();
        // A reused layer has its owner's kind.
        let op = |i: usize| &g.nodes[owner[i]].op;
        let per_step: Vec<bool> = (0..g.nodes.len())
            .map(|i| match op(i) {
                Op::Builtin(k) => {
                    k.steps() == Steps::EachWrapped
                        && shapes.of(g.nodes[i].inputs[0]).is_some_and(|s| is_seq(s))
                }
                _ => false,
            })
            .collect();
        let types: Vec<TokenStream> = (0..g.nodes.len())
            .map(|i| match op(i) {
                Op::Builtin(k) if per_step[i] => {
                    let inner = k.ty();
                    quote!(#p::layers::PerStep<#inner>)
                }
                Op::Builtin(k) => k.ty(),
                Op::Custom { ty, .. } => quote!(#ty),
                Op::Model { models, sequence } => {
                    let tys = models.iter().map(|(_, name, _)| quote!(#name<B>));
                    if *sequence { quote!((#(#tys,)*)) } else { quote!(#(#tys)*) }
                }
                Op::Shared { .. } | Op::Invalid => quote!(()),
            })
            .collect();
        let input_types: Vec<TokenStream> =
            shapes.inputs.iter().map(|s| shape_type(s.as_deref().unwrap_or(&[]))).collect();
        let mut plan = Plan {
            names,
            params: g.nodes.iter().map(|n| n.param.clone()).collect(),
            owner: owner.clone(),
            types,
            input_types,
            output_types: Vec::new(),
            calls: Vec::new(),
            where_clauses: Vec::new(),
            per_step,
            fused: Fused::none(g.nodes.len()),
        };
        for (i, node) in g.nodes.iter().enumerate() {
            let input = plan.value_type(node.inputs[0]);
            let known = shapes.nodes[i].as_deref().map(shape_type);
            let (sized, retype) = match op(i) {
                Op::Builtin(k) => (k.sized(), false),
                Op::Custom { stated, .. } => (false, stated.is_some()),
                Op::Model { .. } | Op::Shared { .. } | Op::Invalid => (false, false),
            };
            let merges = node.inputs.len() == 2;
            let call = if merges {
                // Both inputs' shapes are known whenever a merge is expanded (an unknown one is
                // reported first), so its output's is too.
                let second = plan.value_type(node.inputs[1]);
                Call::merge(&input, &second, known.as_ref().unwrap_or(&input))
            } else {
                Call::new(sized, retype, &input, known.as_ref())
            };
            let ty = &plan.types[i];
            match op(i) {
                // A custom layer whose output is stated needs no bound: its check function
                // reports a layer that does not take its input at the layer's name, and the
                // model's items stay usable, so code that uses the model adds no follow-on errors.
                Op::Custom { stated: Some(_), .. } => {}
                Op::Custom { stated: None, .. } => {
                    plan.where_clauses.push(quote!(#ty: #p::Layer<#input, B> + #p::Init<B>));
                }
                _ if shapes.of(node.inputs[0]).is_none() => {
                    let via = &call.via;
                    plan.where_clauses.push(quote!(#ty: #via));
                }
                _ => {}
            }
            let via = &call.via;
            let output = match known {
                Some(t) => t,
                None if merges => input.clone(),
                None => quote!(<#ty as #via>::Output),
            };
            plan.output_types.push(output);
            plan.calls.push(call);
        }
        let known = |i: usize| {
            shapes.nodes[i].is_some() && g.nodes[i].inputs.iter().all(|&r| shapes.of(r).is_some())
        };
        plan.fused = Fused::new(g, &plan, known);
        plan
    }

    /// Whether node `i` owns its field (it is not a reuse of another node's layer).
    pub fn owns(&self, i: usize) -> bool {
        self.owner[i] == i
    }

    /// The struct's fields: the nodes that own a layer.
    pub fn fields(&self) -> Vec<syn::Ident> {
        (0..self.names.len()).filter(|&i| self.owns(i)).map(|i| self.names[i].clone()).collect()
    }

    /// The struct's fields with their names in parameter paths.
    pub fn named_fields(&self) -> Vec<(syn::Ident, String)> {
        (0..self.names.len())
            .filter(|&i| self.owns(i))
            .map(|i| (self.names[i].clone(), self.params[i].clone()))
            .collect()
    }

    /// The struct field node `i` calls (its own, or its owner's).
    pub fn field(&self, i: usize) -> &syn::Ident {
        &self.names[self.owner[i]]
    }

    /// The type of value `r`.
    pub fn value_type(&self, r: NodeRef) -> TokenStream {
        match r {
            NodeRef::Input(i) => self.input_types[i].clone(),
            NodeRef::Node(i) => self.output_types[i].clone(),
        }
    }

    /// Generated code about node `i`, spanned at the node's name itself (location and hygiene)
    /// when it is a custom layer with a stated output: such a layer is used without a `where`
    /// clause, so each use fails when it does not take its input, and identical errors at one
    /// user span are reported once, without a macro note (see `respan`).
    pub fn at_user(&self, i: usize, tokens: TokenStream) -> TokenStream {
        if self.calls[i].retype {
            let keep = format_ident!("{}", KEEP_SPANS);
            let tokens = with_span(tokens, self.names[i].span());
            quote!(#keep(#tokens))
        } else {
            tokens
        }
    }

    /// `<Type as Layer<X, B>>::item` (or `LayerTo<X, Y, B>`) for node `i`.
    pub fn qual(&self, i: usize, item: TokenStream) -> TokenStream {
        let (ty, via) = (&self.types[i], &self.calls[i].via);
        self.at_user(i, quote!(<#ty as #via>::#item))
    }
}
