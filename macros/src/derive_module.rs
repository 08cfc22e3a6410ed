//! `#[derive(Module)]`: the named parameter visitor for a user's own layer.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericParam};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    match derive(&input) {
        Ok(ts) => ts,
        Err(e) => e.to_compile_error(),
    }
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
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            "derive(Module) works on structs with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(
            data.fields.span(),
            "derive(Module) needs named fields: they name the parameters",
        ));
    };
    let backend = input
        .generics
        .params
        .iter()
        .filter_map(|g| match g {
            GenericParam::Type(t) => Some(t),
            _ => None,
        })
        .find(|t| {
            t.ident == "B"
                || t.bounds.iter().any(|b| quote!(#b).to_string().ends_with("Backend"))
        })
        .map(|t| t.ident.clone())
        .ok_or_else(|| {
            syn::Error::new(
                input.generics.span().join(name.span()).unwrap_or(name.span()),
                format!("derive(Module) on `{name}` needs a backend type parameter, e.g. `struct {name}<B: Backend>`"),
            )
        })?;
    let mut errors: Option<syn::Error> = None;
    let mut visited = Vec::new();
    for f in &fields.named {
        match is_skipped(f) {
            Ok(true) => {}
            Ok(false) => visited.push(f.ident.clone()),
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let idents: Vec<_> = visited.into_iter().flatten().collect();
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    let header = quote!(impl #impl_g #p::Module<#backend> for #name #ty_g #where_c);
    Ok(crate::module_visitor::module_impl(header, &quote!(#backend), &idents))
}
