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
        let out = &plan.output_types[i];
        // A reused layer's parameters are its owner's, listed there.
        let params = if plan.owns(i) {
            quote!(#p::params_of::<B, _>(&self.#field, #name))
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
