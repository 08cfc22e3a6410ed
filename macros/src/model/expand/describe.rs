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
        let (field, name) = (&plan.names[i], node.name.to_string());
        let label = node.describe();
        let (op, attrs) = match &node.op {
            Op::Builtin(k) => (k.name().to_string(), k.attrs()),
            _ => (label.clone(), Vec::new()),
        };
        let (attr_names, attr_values): (Vec<&str>, Vec<TokenStream>) =
            attrs.iter().map(|(n, v)| (*n, attr_tokens(v))).unzip();
        let reads: Vec<String> = node.inputs.iter().map(|&r| g.name_of(r)).collect();
        let out = &plan.output_types[i];
        quote! {
            #p::GraphNode {
                name: #name.to_string(),
                op: #op.to_string(),
                label: #label.to_string(),
                attrs: vec![#( (#attr_names.to_string(), #attr_values) ),*],
                inputs: vec![#( #reads.to_string() ),*],
                output: <#out as #p::Shape>::describe(),
                params: #p::params_of::<B, _>(&self.#field, #name),
            }
        }
    });
    let output = g.name_of(g.output);
    quote! {
        #p::Graph {
            model: #model.to_string(),
            inputs: vec![#( #inputs ),*],
            nodes: vec![#( #nodes ),*],
            outputs: vec![#output.to_string()],
        }
    }
}
