//! The forward and backward passes as statements, from a walk over the graph: forward in node
//! order, backward in reverse, each node's gradient flowing to the value it read.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use super::plan::Plan;
use crate::model::ir::{Graph, NodeRef};

/// The variable holding value `r` in the forward passes (`x0` is the model's input argument).
fn value_var(r: NodeRef) -> syn::Ident {
    match r {
        NodeRef::Input(i) => format_ident!("x{}", i),
        NodeRef::Node(i) => format_ident!("x{}", i + 1),
    }
}

/// The variable holding the gradient of value `r` in the backward passes.
fn grad_var(r: NodeRef) -> syn::Ident {
    match r {
        NodeRef::Input(i) => format_ident!("d{}", i),
        NodeRef::Node(i) => format_ident!("d{}", i + 1),
    }
}

/// The generated statements of every pass.
pub(crate) struct Passes {
    pub forward: Vec<TokenStream>,
    pub forward_train: Vec<TokenStream>,
    pub backward: Vec<TokenStream>,
    pub backward_params: Vec<TokenStream>,
    /// The variable holding the model's output.
    pub output: syn::Ident,
    /// The variable holding the model input's gradient after `backward`.
    pub input_grad: syn::Ident,
    /// Each node's gradient-of-parameters variable.
    pub param_grads: Vec<syn::Ident>,
    /// Each node's cache variable.
    pub caches: Vec<syn::Ident>,
}

pub(crate) fn passes(g: &Graph, plan: &Plan) -> Passes {
    let n = g.nodes.len();
    let cs: Vec<syn::Ident> = (0..n).map(|i| format_ident!("c{}", i)).collect();
    let gs: Vec<syn::Ident> = (0..n).map(|i| format_ident!("g{}", i)).collect();
    let mut forward = Vec::with_capacity(n);
    let mut forward_train = Vec::with_capacity(n);
    for (i, node) in g.nodes.iter().enumerate() {
        let (field, x, c) = (&plan.names[i], value_var(NodeRef::Node(i)), &cs[i]);
        // A model input is the caller's reference; later values are borrowed.
        let xin = match node.inputs[0] {
            r @ NodeRef::Input(_) => value_var(r).into_token_stream(),
            r => {
                let v = value_var(r);
                quote!(&#v)
            }
        };
        let call = &plan.calls[i];
        let fwd = plan.qual(i, call.forward.to_token_stream());
        let train = plan.qual(i, call.forward_train.to_token_stream());
        if call.retype {
            forward
                .push(plan.at_user(i, quote!(let #x = #fwd(&self.#field, #xin).__assume_shape();)));
            forward_train.push(plan.at_user(
                i,
                quote!(
                    let (#x, #c) = #train(&mut self.#field, #xin);
                    let #x = #x.__assume_shape();
                ),
            ));
        } else {
            forward.push(quote!(let #x = #fwd(&self.#field, #xin);));
            forward_train.push(quote!(let (#x, #c) = #train(&mut self.#field, #xin);));
        }
    }
    let mut backward = Vec::with_capacity(n);
    let mut backward_params = Vec::with_capacity(n);
    for (i, node) in g.nodes.iter().enumerate().rev() {
        let here = NodeRef::Node(i);
        let call = &plan.calls[i];
        // The model's output gradient is the caller's; a node's is the one its reader made. A
        // custom layer's relabelled output takes its gradient back under the layer's own output
        // type: the reader's result is moved for that, only the caller's `dy` is copied.
        let d_out = match (here == g.output, call.retype) {
            (true, false) => quote!(dy),
            (true, true) => quote!(&dy.clone().__assume_shape()),
            (false, false) => {
                let d = grad_var(here);
                quote!(&#d)
            }
            (false, true) => {
                let d = grad_var(here);
                quote!(&#d.__assume_shape())
            }
        };
        let (field, gi, d_in) = (&plan.names[i], &gs[i], grad_var(node.inputs[0]));
        let bwd = plan.qual(i, call.backward.to_token_stream());
        let stmt =
            plan.at_user(i, quote!(let (#d_in, #gi) = #bwd(&self.#field, &cache.#field, #d_out)?;));
        backward.push(stmt.clone());
        // Without the model's input gradient: a node reading a model input computes its
        // parameter gradients only (for `Linear`, one matrix product less).
        if matches!(node.inputs[0], NodeRef::Input(_)) {
            let bwd = plan.qual(i, call.backward_params.to_token_stream());
            backward_params.push(
                plan.at_user(i, quote!(let #gi = #bwd(&self.#field, &cache.#field, #d_out)?;)),
            );
        } else {
            backward_params.push(stmt);
        }
    }
    Passes {
        forward,
        forward_train,
        backward,
        backward_params,
        output: value_var(g.output),
        input_grad: grad_var(NodeRef::Input(0)),
        param_grads: gs,
        caches: cs,
    }
}
