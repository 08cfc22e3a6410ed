//! `#[derive(Module)]`: the named parameter visitor for a user's own layer.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::derive_common::{backend_param, each_field, named_fields};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    crate::derive_common::expand(input, derive)
}

fn is_skipped(field: &syn::Field) -> syn::Result<bool> {
    let mut skip = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error("expected `#[module(skip)]`"))
            }
        })?;
    }
    Ok(skip)
}

fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let p = quote!(::shapeflow::__private);
    let name = &input.ident;
    let fields = named_fields(input, "Module", "they name the parameters")?;
    let backend = backend_param(input, "Module")?;
    let visited = each_field(fields, |f| Ok((!is_skipped(f)?).then(|| f.ident.clone())))?;
    let idents: Vec<_> = visited.into_iter().flatten().flatten().collect();
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    let header = quote!(impl #impl_g #p::Module<#backend> for #name #ty_g #where_c);
    let named: Vec<(syn::Ident, String)> =
        idents.iter().map(|i| (i.clone(), i.to_string())).collect();
    Ok(crate::module_visitor::module_impl(header, &quote!(#backend), &named))
}
