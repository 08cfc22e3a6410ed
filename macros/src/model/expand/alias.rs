//! The name a parameterised model has in Rust: `BasicBlock<B, 64, 128, 2>`, a type alias for
//! the struct `model!` built at those sizes (`BasicBlock64x128x2<B>`), resolved through a
//! trait implemented once per build.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::instantiate::Template;
use crate::model::kinds::private;

/// The alias, its marker type and its trait, with an impl for each build.
pub(crate) fn template_alias(t: &Template) -> TokenStream {
    let p = private();
    let def = &t.def;
    let (name, vis) = (&def.name, &def.vis);
    let docs = def.attrs.iter().filter(|a| a.path().is_ident("doc"));
    let sizes = format_ident!("__{}Sizes", name);
    let at = format_ident!("__{}At", name);
    let params: Vec<&syn::Ident> = def.params.iter().map(|p| &p.name).collect();
    let declared = def.params.iter().map(|p| {
        let name = &p.name;
        match p.default {
            Some(v) => {
                let v = proc_macro2::Literal::usize_unsuffixed(v as usize);
                quote!(const #name: usize = #v)
            }
            None => quote!(const #name: usize),
        }
    });
    let list: Vec<String> = params.iter().map(|p| p.to_string()).collect();
    let message = format!(
        "`{name}` is not built at these sizes: `model!` builds `{name}<{}>` at the sizes its uses in the same `model!` give, and at its defaults when every parameter has one",
        list.join(", ")
    );
    let builds = t.builds.iter().map(|(values, built)| {
        let values = values.iter().map(|&v| proc_macro2::Literal::usize_unsuffixed(v as usize));
        quote! {
            impl<B: #p::Backend> #at<B> for #sizes<#(#values),*> {
                type Model = #built<B>;
            }
        }
    });
    quote! {
        #[doc(hidden)]
        #vis struct #sizes<#(const #params: usize),*>;

        #[doc(hidden)]
        #[diagnostic::on_unimplemented(message = #message)]
        #vis trait #at<B> {
            type Model;
        }

        #(#builds)*

        #(#docs)*
        #vis type #name<B, #(#declared),*> = <#sizes<#(#params),*> as #at<B>>::Model;
    }
}
