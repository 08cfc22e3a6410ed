//! `Debug` for a generated model: its architecture as declared (PyTorch's `print(model)`), one
//! field per layer with its kind (`fc1: Linear<784, 128>`), not its weights. Needs no `Debug` of
//! the layer types, so it exists for every model, custom layers included.

use proc_macro2::TokenStream;
use quote::quote;

use super::plan::Plan;
use crate::model::ir::Graph;
use crate::model::kinds::private;

/// `impl Debug for Name<B>`.
pub(crate) fn debug_impl(g: &Graph, plan: &Plan, name: &syn::Ident) -> TokenStream {
    let p = private();
    let model = &g.shown;
    let (fields, labels): (Vec<String>, Vec<String>) = (0..g.nodes.len())
        .filter(|&i| plan.owns(i))
        .map(|i| (g.nodes[i].name.to_string(), g.nodes[i].describe()))
        .unzip();
    quote! {
        /// The architecture as declared: each layer's name and kind (not its weights).
        impl<B: #p::Backend> ::core::fmt::Debug for #name<B> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                /// A kind printed as written, without quotes.
                struct Kind(&'static str);
                impl ::core::fmt::Debug for Kind {
                    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(self.0)
                    }
                }
                f.debug_struct(#model)
                    #( .field(#fields, &Kind(#labels)) )*
                    .finish()
            }
        }
    }
}
