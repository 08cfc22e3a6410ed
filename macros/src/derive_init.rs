//! `#[derive(Init)]`: construction from a seeded generator for a user's own layer. Each tensor
//! field says how it starts (`#[init(ones)]`, `#[init(zeros)]`, `#[init(uniform(0.1))]`, uniform
//! on ±0.1); any other field is built by its own `Init` (a nested layer), or by `Default` with
//! `#[init(default)]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;
use syn::spanned::Spanned;

use crate::derive_common::{backend_param, each_field, named_fields};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    crate::derive_common::expand(input, derive)
}

/// How one field starts.
enum Start {
    Uniform(TokenStream, TokenStream),
    Default,
    Nested,
}

fn is_tensor(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Tensor"))
}

fn start_of(field: &syn::Field) -> syn::Result<Start> {
    let mut start = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("init")) {
        attr.parse_nested_meta(|meta| {
            let s = if meta.path.is_ident("ones") {
                Start::Uniform(quote!(1.0), quote!(1.0))
            } else if meta.path.is_ident("zeros") {
                Start::Uniform(quote!(0.0), quote!(0.0))
            } else if meta.path.is_ident("default") {
                Start::Default
            } else if meta.path.is_ident("uniform") {
                let content;
                syn::parenthesized!(content in meta.input);
                let bound: syn::Expr = content.parse()?;
                Start::Uniform(quote!(-(#bound) as f64), quote!((#bound) as f64))
            } else {
                return Err(meta.error(
                    "expected `#[init(ones)]`, `#[init(zeros)]`, `#[init(uniform(bound))]` or `#[init(default)]`",
                ));
            };
            start = Some(s);
            Ok(())
        })?;
    }
    match start {
        Some(s) => Ok(s),
        None if is_tensor(&field.ty) => {
            let name = field.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
            Err(syn::Error::new(
                field.ident.as_ref().map_or(field.span(), |i| i.span()),
                format!(
                    "say how `{name}` starts: `#[init(ones)]`, `#[init(zeros)]` or `#[init(uniform(bound))]`"
                ),
            ))
        }
        None => Ok(Start::Nested),
    }
}

fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let p = quote!(::shapeflow::__private);
    let name = &input.ident;
    let fields = named_fields(input, "Init", "they name what each starts as")?;
    let backend = backend_param(input, "Init")?;
    let inits = each_field(fields, |f| {
        let (ident, ty) = (&f.ident, &f.ty);
        Ok(match start_of(f)? {
            Start::Uniform(lo, hi) => quote!(#ident: <#ty>::uniform_static(dev, #lo, #hi, rng)),
            Start::Default => quote!(#ident: ::core::default::Default::default()),
            Start::Nested => quote!(#ident: <#ty as #p::Init<#backend>>::init(dev, rng)),
        })
    })?;
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_g #p::Init<#backend> for #name #ty_g #where_c {
            fn init(dev: &#backend, rng: &mut #p::Rng) -> Self {
                let _ = &rng;
                #name { #(#inits),* }
            }
        }
    })
}
