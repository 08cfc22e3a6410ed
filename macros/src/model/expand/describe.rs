//! The generated `graph()`: the model's nodes with their kinds, attributes, inputs, output
//! shapes and parameters, as `shapeflow::graph::Graph`.

use proc_macro2::TokenStream;
use quote::quote;

use super::plan::Plan;
use crate::model::ir::{Graph, NodeRef, Op};
use crate::model::kinds::{Attr, private};

fn attr_tokens(a: &Attr) -> TokenStream {
    let p = private();
    match a {
        Attr::Int(v) => quote!(#p::Attr::Int(#v)),
        Attr::Real(v) => quote!(#p::Attr::Real(#v)),
        Attr::Flag(v) => quote!(#p::Attr::Flag(#v)),
    }
}

/// The expression building the graph, with `self` the model.
pub(crate) fn graph_expr(g: &Graph, plan: &Plan, model: &str) -> TokenStream {
    let p = private();
    let inputs = g.inputs.iter().enumerate().map(|(i, input)| {
        let (name, ty) = (input.name.to_string(), plan.value_type(NodeRef::Input(i)));
        quote!(#p::GraphInput { name: #name.to_string(), shape: <#ty as #p::Shape>::describe() })
    });
    let nodes = g.nodes.iter().enumerate().map(|(i, node)| {
        let (field, name) = (plan.field(i), node.name.to_string());
        let owner = &g.nodes[plan.owner[i]];
        let label = if plan.owns(i) {
            node.describe()
        } else {
            format!("{} (shares `{}`)", owner.describe(), owner.name)
        };
        let (op, attrs) = match &owner.op {
            Op::Builtin(k) => (k.name().to_string(), k.attrs()),
            _ => (owner.describe(), Vec::new()),
        };
        let (attr_names, attr_values): (Vec<&str>, Vec<TokenStream>) =
            attrs.iter().map(|(n, v)| (*n, attr_tokens(v))).unzip();
        let reads: Vec<String> = node.inputs.iter().map(|&r| g.name_of(r)).collect();
        let shares = if plan.owns(i) {
            quote!(None)
        } else {
            let owner = owner.name.to_string();
            quote!(Some(#owner.to_string()))
        };
        let blocks = blocks_expr(plan, node.inputs[0], &owner.op, field, &owner.name.to_string());
        let out = &plan.output_types[i];
        // A reused layer's parameters are its owner's, listed there.
        let params = if plan.owns(i) {
            let path = &plan.params[i];
            quote!(#p::params_of::<B, _>(&self.#field, #path))
        } else {
            quote!(Vec::new())
        };
        quote! {
            #p::GraphNode {
                name: #name.to_string(),
                op: #op.to_string(),
                label: #label.to_string(),
                attrs: vec![#( (#attr_names.to_string(), #attr_values) ),*],
                inputs: vec![#( #reads.to_string() ),*],
                output: <#out as #p::Shape>::describe(),
                params: #params,
                blocks: #blocks,
                shares: #shares,
            }
        }
    });
    let outputs: Vec<String> = g.outputs.iter().map(|&r| g.name_of(r)).collect();
    quote! {
        #p::Graph {
            model: #model.to_string(),
            inputs: vec![#( #inputs ),*],
            nodes: vec![#( #nodes ),*],
            outputs: vec![#( #outputs.to_string() ),*],
        }
    }
}

/// The graphs of the models a node applies (`layer1: (BasicBlock, BasicBlock)`), each at the
/// shape it is applied to, with its state-dict prefix (`layer1.0`); an empty list otherwise.
fn blocks_expr(
    plan: &Plan,
    input: NodeRef,
    op: &Op,
    field: &syn::Ident,
    owner: &str,
) -> TokenStream {
    let p = private();
    let Op::Model { models, sequence } = op else {
        return quote!(Vec::new());
    };
    let mut at = plan.value_type(input);
    let mut blocks = Vec::new();
    for (k, (_, model, _)) in models.iter().enumerate() {
        let ty = quote!(#model<B>);
        let (prefix, value) = if *sequence {
            let index = syn::Index::from(k);
            (format!("{owner}.{k}"), quote!(&self.#field.#index))
        } else {
            (owner.to_string(), quote!(&self.#field))
        };
        blocks.push(quote!((#prefix.to_string(), <#ty as #p::DescribedAt<#at>>::graph_at(#value))));
        at = quote!(<#ty as #p::Layer<#at, B>>::Output);
    }
    quote!(vec![#( #blocks ),*])
}
