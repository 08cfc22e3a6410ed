//! A model with several inputs or several outputs: not a `Layer` (which takes one tensor and
//! returns one), so its passes are inherent methods taking one argument per input and returning
//! its output (a tuple of outputs when it has several); `backward` takes the output's gradient
//! (a tuple of them when there are several).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::passes::passes;
use super::plan::Plan;
use super::spans::respan;
use super::{Names, anchor, cache_struct, debug, describe};
use crate::model::infer::Shapes;
use crate::model::ir::{Graph, NodeRef};
use crate::model::kinds::private;
use crate::model::parse::ModelDef;

pub(crate) fn multi_model(def: &ModelDef, g: &Graph, shapes: &Shapes) -> TokenStream {
    let p = private();
    let plan = Plan::new(g, shapes);
    let passes = passes(g, &plan);
    let (name, vis) = (&def.name, &def.vis);
    let cache = format_ident!("{}Cache", name);
    let names = Names {
        name: name.clone(),
        cache: cache.clone(),
        accepts: format_ident!("{}AcceptsInput", name),
        input_desc: String::new(),
        s0: quote!(()),
        sn: quote!(()),
    };
    let cache_doc =
        format!("What `{name}::forward_train` keeps for `{name}::backward`: one cache per layer.");
    let cache_decl = cache_struct(vis, &plan, &names, Some(cache_doc));
    let where_clauses = &plan.where_clauses;
    let fields = plan.fields();
    let owned: Vec<usize> = (0..plan.names.len()).filter(|&i| plan.owns(i)).collect();
    let (constructor, init) = (super::constructor(g, &plan), super::init_impl(name, where_clauses));
    let gs: Vec<&syn::Ident> = owned.iter().map(|&i| &passes.param_grads[i]).collect();
    let in_tys: Vec<TokenStream> =
        (0..g.inputs.len()).map(|k| plan.value_type(NodeRef::Input(k))).collect();
    let out_tys: Vec<TokenStream> = g.outputs.iter().map(|&r| plan.value_type(r)).collect();
    let (outs, dys_param) = if out_tys.len() == 1 {
        (quote!(#( #p::Tensor<#out_tys, B> )*), quote!(dy: #( &#p::Tensor<#out_tys, B> )*))
    } else {
        (quote!((#( #p::Tensor<#out_tys, B>, )*)), quote!(dys: (#( &#p::Tensor<#out_tys, B>, )*)))
    };
    let dxs = quote!((#( #p::Tensor<#in_tys, B>, )*));
    let (forward, forward_train, backward, backward_params) =
        (&passes.forward, &passes.forward_train, &passes.backward, &passes.backward_params);
    let (output, input_grad, cs) = (&passes.output, &passes.input_grad, &passes.caches);
    let cached: Vec<TokenStream> = (0..plan.names.len())
        .map(|i| {
            let (field, c) = (&plan.names[i], &cs[i]);
            plan.at_user(i, quote!(#field: #c))
        })
        .collect();
    let described = super::described(&describe::graph_expr(g, &plan, &g.shown));
    let a = super::multi_inputs::input_args(g, shapes, vis, name, &in_tys);
    let (accepts, generics, params, bounds, lets) =
        (&a.items, &a.generics, &a.params, &a.bounds, &a.lets);
    let debug = debug::debug_impl(g, &plan, name);
    let module = crate::module_visitor::module_impl(
        quote!(impl<B: #p::Backend> #p::Module<B> for #name<B>),
        &quote!(B),
        &plan.named_fields(),
    );
    let inputs_doc = g.inputs.iter().map(|i| format!("`{}`", i.name)).collect::<Vec<_>>();
    let forward_doc = format!(
        "Inference forward pass (dropout off) from the inputs {}, returning the output (the outputs in declared order, when there are several).",
        inputs_doc.join(", ")
    );
    let decl = super::struct_decl(def, g, &plan);
    let tokens = quote! {
        #decl

        #accepts

        #cache_decl

        impl<B: #p::Backend> #name<B> where #(#where_clauses,)* {
            #constructor

            #[doc = #forward_doc]
            pub fn forward #generics (&self, #params) -> #outs
            where
                #( #bounds, )*
                Self: Sync,
            {
                #( #lets )*
                <B as #p::Device>::on_workers(|| {
                    #( #forward )*
                    #output
                })
            }

            /// Training forward pass: the outputs and every layer's cache for [`Self::backward`].
            pub fn forward_train #generics (&mut self, #params) -> (#outs, #cache<B>)
            where
                #( #bounds, )*
            {
                #( #lets )*
                #( #forward_train )*
                (#output, #cache { #( #cached, )* __backend: ::core::marker::PhantomData })
            }

            /// Generated backward pass: from the output's gradient (a tuple, in declared order,
            /// when there are several outputs), the gradient of every parameter, as a value of the
            /// model's own type.
            pub fn backward(&self, cache: &#cache<B>, #dys_param) -> #p::Result<Self> {
                #( #backward_params )*
                Ok(Self { #( #fields: #gs, )* __backend: ::core::marker::PhantomData })
            }

            /// [`Self::backward`] that also returns the gradient of every input, in declared order.
            pub fn backward_with_input(&self, cache: &#cache<B>, #dys_param) -> #p::Result<(#dxs, Self)> {
                #( #backward )*
                Ok((#input_grad, Self { #( #fields: #gs, )* __backend: ::core::marker::PhantomData }))
            }

            #described
        }

        impl<B: #p::Backend> #p::Described for #name<B> where #(#where_clauses,)* {
            fn graph(&self) -> #p::Graph {
                Self::graph(self)
            }
        }

        #init

        #module
        #debug
    };
    respan(tokens, Some(anchor(g, &plan, name)))
}
