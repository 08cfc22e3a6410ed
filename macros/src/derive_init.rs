//! `#[derive(Init)]`: construction from a seeded generator for a user's own layer. Each tensor
//! field says how it starts (`#[init(ones)]`, `#[init(zeros)]`, `#[init(uniform(0.1))]`, uniform
//! on ±0.1); any other field is built by its own `Init` (a nested layer), or by `Default` with
//! `#[init(default)]`.

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
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            "derive(Init) works on structs with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new(data.fields.span(), "derive(Init) needs named fields"));
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
            t.ident == "B" || t.bounds.iter().any(|b| quote!(#b).to_string().ends_with("Backend"))
        })
        .map(|t| t.ident.clone())
        .ok_or_else(|| {
            syn::Error::new(
                name.span(),
                format!("derive(Init) on `{name}` needs a backend type parameter, e.g. `struct {name}<B: Backend>`"),
            )
        })?;
    let mut errors: Option<syn::Error> = None;
    let mut inits = Vec::new();
    for f in &fields.named {
        let ident = &f.ident;
        let ty = &f.ty;
        match start_of(f) {
            Ok(Start::Uniform(lo, hi)) => {
                inits.push(quote!(#ident: <#ty>::uniform_static(dev, #lo, #hi, rng)))
            }
            Ok(Start::Default) => inits.push(quote!(#ident: ::core::default::Default::default())),
            Ok(Start::Nested) => {
                inits.push(quote!(#ident: <#ty as #p::Init<#backend>>::init(dev, rng)))
            }
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
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
