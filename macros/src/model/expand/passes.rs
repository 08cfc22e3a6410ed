//! The forward and backward passes as statements, from a walk over the graph: forward in node
//! order, backward in reverse, each node's input gradients flowing to the values it read and
//! summed where a value is read more than once (a residual connection's input).

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use super::plan::Plan;
use crate::model::ir::{Graph, NodeRef};

/// The variable holding value `r` in the forward passes (`in0`, `in1`: the model's input
/// arguments; `x1`, `x2`, …: the nodes' outputs).
pub(crate) fn value_var(r: NodeRef) -> syn::Ident {
    match r {
        NodeRef::Input(i) => format_ident!("in{}", i),
        NodeRef::Node(i) => format_ident!("x{}", i + 1),
    }
}

/// A borrow of value `r` as a node's argument: the model input is the caller's reference.
fn value_arg(r: NodeRef) -> TokenStream {
    let v = value_var(r);
    match r {
        NodeRef::Input(_) => v.into_token_stream(),
        NodeRef::Node(_) => quote!(&#v),
    }
}

/// `let __span = profile::enter(…);`: the profiler's span of node `i` (and of the node fused
/// into it), named by its parameter path and kind; the statements after it up to
/// [`span_end`] are measured.
fn span_start(g: &Graph, plan: &Plan, i: usize, phase: &str) -> TokenStream {
    let p = crate::model::kinds::private();
    let kind_of = |k: usize| g.nodes[plan.owner[k]].describe();
    let (name, kind) = match plan.fused.first_of[i] {
        Some(e) => (
            format!("{}+{}", plan.params[e], plan.params[i]),
            format!("{} + {}", kind_of(e), kind_of(i)),
        ),
        None => (plan.params[i].clone(), kind_of(i)),
    };
    let phase = format_ident!("{}", phase);
    quote!(let __span = #p::profile::enter(#name, #kind, #p::profile::Phase::#phase);)
}

/// Closes the span [`span_start`] opened.
fn span_end() -> TokenStream {
    quote!(drop(__span);)
}

/// The generated statements of every pass.
pub(crate) struct Passes {
    pub forward: Vec<TokenStream>,
    pub forward_train: Vec<TokenStream>,
    pub backward: Vec<TokenStream>,
    pub backward_params: Vec<TokenStream>,
    /// `backward_params` that hands each layer's gradients to `ready` once they are final
    /// (after the layer's first use, where a shared layer's uses have been summed).
    pub backward_ready: Vec<TokenStream>,
    /// The model's output: its variable, or a tuple of them.
    pub output: TokenStream,
    /// The model input's gradient after `backward` (a tuple for several inputs).
    pub input_grad: TokenStream,
    /// Each node's gradient-of-parameters variable.
    pub param_grads: Vec<syn::Ident>,
    /// Each node's cache variable.
    pub caches: Vec<syn::Ident>,
}

pub(crate) fn passes(g: &Graph, plan: &Plan) -> Passes {
    let n = g.nodes.len();
    let cs: Vec<syn::Ident> = (0..n).map(|i| format_ident!("c{}", i)).collect();
    let gs: Vec<syn::Ident> = (0..n).map(|i| format_ident!("g{}", i)).collect();
    let (forward, forward_train) = forward_passes(g, plan, &cs);
    let (backward, input_grads) = backward_pass(g, plan, &gs, false, false);
    let (backward_params, _) = backward_pass(g, plan, &gs, true, false);
    let (backward_ready, _) = backward_pass(g, plan, &gs, true, true);
    let grads: Vec<TokenStream> = input_grads
        .into_iter()
        .enumerate()
        .map(|(k, d)| d.unwrap_or_else(|| output_grad(g, k)))
        .collect();
    let outs: Vec<syn::Ident> = g.outputs.iter().map(|&r| value_var(r)).collect();
    let single = g.is_layer();
    Passes {
        forward,
        forward_train,
        backward,
        backward_params,
        backward_ready,
        // One output is returned as itself, whatever the number of inputs.
        output: if g.outputs.len() == 1 { quote!(#(#outs)*) } else { quote!((#(#outs,)*)) },
        input_grad: if single { quote!(#(#grads)*) } else { quote!((#(#grads,)*)) },
        param_grads: gs,
        caches: cs,
    }
}

/// The caller's gradient of output `k`: `dy` for a model with one output, else `dys.k` (a
/// model with several outputs takes a tuple of output gradients).
fn output_grad(g: &Graph, k: usize) -> TokenStream {
    if g.outputs.len() == 1 {
        quote!(dy)
    } else {
        let k = syn::Index::from(k);
        quote!(dys.#k)
    }
}

fn forward_passes(
    g: &Graph,
    plan: &Plan,
    cs: &[syn::Ident],
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let (mut forward, mut forward_train) = (Vec::new(), Vec::new());
    let p = crate::model::kinds::private();
    for (i, node) in g.nodes.iter().enumerate() {
        let (field, x, c) = (plan.field(i), value_var(NodeRef::Node(i)), &cs[i]);
        if plan.fused.second_of[i].is_some() {
            // Run by the node it is fused into.
            continue;
        }
        if let (Some(e), Some(module)) = (plan.fused.first_of[i], plan.fused.module[i]) {
            // A fused pair as one pass (`expand/fuse.rs`).
            let fused = fused_module(&p, module);
            let (emb, ce) = (plan.field(e), &cs[e]);
            let ids = value_arg(g.nodes[e].inputs[0]);
            forward.push(span_start(g, plan, i, "Forward"));
            forward_train.push(span_start(g, plan, i, "Forward"));
            forward.push(quote!(let #x = #fused::forward(&self.#emb, &self.#field, #ids);));
            forward_train.push(quote!(
                let (#x, #ce, #c) = #fused::forward_train(&mut self.#emb, &mut self.#field, #ids);
            ));
            forward.push(span_end());
            forward_train.push(span_end());
            continue;
        }
        forward.push(span_start(g, plan, i, "Forward"));
        forward_train.push(span_start(g, plan, i, "Forward"));
        let args: Vec<TokenStream> = node.inputs.iter().map(|&r| value_arg(r)).collect();
        let call = &plan.calls[i];
        let fwd = plan.qual(i, call.forward.to_token_stream());
        let train = plan.qual(i, call.forward_train.to_token_stream());
        if call.retype {
            forward.push(
                plan.at_user(i, quote!(let #x = #fwd(&self.#field, #(#args),*).__assume_shape();)),
            );
            forward_train.push(plan.at_user(
                i,
                quote!(
                    let (#x, #c) = #train(&mut self.#field, #(#args),*);
                    let #x = #x.__assume_shape();
                ),
            ));
        } else {
            forward.push(quote!(let #x = #fwd(&self.#field, #(#args),*);));
            forward_train.push(quote!(let (#x, #c) = #train(&mut self.#field, #(#args),*);));
        }
        forward.push(span_end());
        forward_train.push(span_end());
    }
    (forward, forward_train)
}

/// `Layer::check_input` of every layer that reads a model input directly (an `Embedding` of
/// token ids), each followed by `?`: what `check_input` of the model runs.
pub(crate) fn input_checks(g: &Graph, plan: &Plan) -> Vec<TokenStream> {
    let mut checks = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        let call = &plan.calls[i];
        let [r @ NodeRef::Input(_)] = node.inputs[..] else { continue };
        if call.merge || call.forward != "forward" || plan.per_step[i] {
            continue;
        }
        let (field, arg) = (plan.field(i), value_arg(r));
        let check = plan.qual(i, quote!(check_input));
        checks.push(quote!(#check(&self.#field, #arg)?;));
    }
    checks
}

/// A value's gradient so far: the caller's (`dy`, a reference), or a variable.
#[derive(Clone)]
enum Grad {
    Caller(TokenStream),
    Var(syn::Ident),
}

/// The backward walk. With `params_only`, nodes reading the model input compute their
/// parameter gradients only (for `Linear`, one matrix product less) and the input gets none.
/// With `ready`, each owned layer's finished gradients go to the `ready` callback by field
/// name. Returns the statements and each input gradient's expression.
fn backward_pass(
    g: &Graph,
    plan: &Plan,
    gs: &[syn::Ident],
    params_only: bool,
    ready: bool,
) -> (Vec<TokenStream>, Vec<Option<TokenStream>>) {
    let mut stmts = Vec::new();
    let mut grads: HashMap<NodeRef, Grad> = HashMap::new();
    for (k, &r) in g.outputs.iter().enumerate() {
        grads.insert(r, Grad::Caller(output_grad(g, k)));
    }
    let mut sums = 0usize;
    let p = crate::model::kinds::private();
    for (i, node) in g.nodes.iter().enumerate().rev() {
        if plan.fused.second_of[i].is_some() {
            // Its gradients came with the node it is fused into.
            continue;
        }
        let call = &plan.calls[i];
        // Every value is read or returned (checked when lowering), so its gradient is
        // complete once the nodes after it are done.
        let d_out = match (
            grads.remove(&NodeRef::Node(i)).unwrap_or(Grad::Caller(quote!(dy))),
            call.retype,
        ) {
            (Grad::Caller(dy), false) => dy,
            (Grad::Caller(dy), true) => quote!(&#dy.clone().__assume_shape()),
            (Grad::Var(d), false) => quote!(&#d),
            (Grad::Var(d), true) => quote!(&#d.__assume_shape()),
        };
        let (field, cached, gi) = (plan.field(i), &plan.names[i], &gs[i]);
        // An owner whose layer is reused: its gradient gathers every use's.
        let reuses: Vec<&syn::Ident> =
            (i + 1..g.nodes.len()).filter(|&k| plan.owner[k] == i).map(|k| &gs[k]).collect();
        let gi_bind = if reuses.is_empty() { quote!(#gi) } else { quote!(mut #gi) };
        let wanted: Vec<bool> =
            node.inputs.iter().map(|r| !(params_only && matches!(r, NodeRef::Input(_)))).collect();
        let outs: Vec<Option<syn::Ident>> = (0..node.inputs.len())
            .map(|k| wanted[k].then(|| format_ident!("dg{}_{}", i, k)))
            .collect();
        let bind = |o: &Option<syn::Ident>| match o {
            Some(id) => id.to_token_stream(),
            None => quote!(_),
        };
        // A layer fused into this node (an `Embedding`, a `BatchNorm`): one backward for
        // both, and the first layer's input is the value that receives a gradient.
        let fused = plan.fused.first_of[i];
        let (node, wanted, outs) = match fused {
            Some(e) => {
                let node = &g.nodes[e];
                let wanted: Vec<bool> = node
                    .inputs
                    .iter()
                    .map(|r| !(params_only && matches!(r, NodeRef::Input(_))))
                    .collect();
                let outs: Vec<Option<syn::Ident>> = (0..node.inputs.len())
                    .map(|k| wanted[k].then(|| format_ident!("dg{}_{}", e, k)))
                    .collect();
                (node, wanted, outs)
            }
            None => (node, wanted, outs),
        };
        let stmt = if let (Some(e), Some(module)) = (fused, plan.fused.module[i]) {
            let (emb, ce, ge) = (plan.field(e), &plan.names[e], &gs[e]);
            let f = fused_module(&p, module);
            let args = quote!(&self.#emb, &self.#field, &cache.#ce, &cache.#cached, #d_out);
            if wanted[0] {
                let d = bind(&outs[0]);
                quote!(let (#d, #ge, #gi_bind) = #f::backward(#args)?;)
            } else {
                quote!(let (#ge, #gi_bind) = #f::backward_params(#args)?;)
            }
        } else if call.merge {
            let (a, b) = (bind(&outs[0]), bind(&outs[1]));
            let bwd = plan.qual(i, call.backward.to_token_stream());
            quote!(let ((#a, #b), #gi_bind) = #bwd(&self.#field, &cache.#cached, #d_out)?;)
        } else if wanted[0] {
            let (bwd, d) = (plan.qual(i, call.backward.to_token_stream()), bind(&outs[0]));
            quote!(let (#d, #gi_bind) = #bwd(&self.#field, &cache.#cached, #d_out)?;)
        } else {
            let bwd = plan.qual(i, call.backward_params.to_token_stream());
            quote!(let #gi_bind = #bwd(&self.#field, &cache.#cached, #d_out)?;)
        };
        stmts.push(span_start(g, plan, i, "Backward"));
        stmts.push(plan.at_user(i, stmt));
        stmts.push(span_end());
        for reuse in reuses {
            stmts.push(quote!(#p::add_grads::<B, _>(&mut #gi, &#reuse);));
        }
        if ready && plan.owns(i) {
            let name = field.to_string();
            stmts.push(quote!(ready(#name, &#gi);));
            if let Some(e) = fused {
                let (name, ge) = (plan.field(e).to_string(), &gs[e]);
                stmts.push(quote!(ready(#name, &#ge);));
            }
        }
        for (&r, out) in node.inputs.iter().zip(outs) {
            let Some(d) = out else { continue };
            let next = match grads.remove(&r) {
                None => Grad::Var(d),
                // A value read twice: its gradients add up.
                Some(Grad::Var(prev)) => {
                    let sum = format_ident!("dsum{}", sums);
                    sums += 1;
                    stmts.push(quote!(let #sum = #prev.add(&#d)?;));
                    Grad::Var(sum)
                }
                Some(Grad::Caller(dy)) => {
                    let sum = format_ident!("dsum{}", sums);
                    sums += 1;
                    stmts.push(quote!(let #sum = #dy.add(&#d)?;));
                    Grad::Var(sum)
                }
            };
            grads.insert(r, next);
        }
    }
    let inputs = (0..g.inputs.len())
        .map(|k| match grads.remove(&NodeRef::Input(k)) {
            Some(Grad::Var(d)) => Some(d.into_token_stream()),
            Some(Grad::Caller(dy)) => Some(quote!(#dy.clone())),
            None => None,
        })
        .collect();
    (stmts, inputs)
}

/// The path of `layers::module`, which runs a fused pair.
fn fused_module(private: &TokenStream, module: &str) -> TokenStream {
    let module = format_ident!("{}", module);
    quote!(#private::layers::#module)
}
