//! What `#[derive(Module)]` and `#[derive(Init)]` share: parsing, the struct's named fields,
//! its backend type parameter, and errors collected across fields.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, FieldsNamed, GenericParam, Ident};

/// Parses `input` and runs `derive` on it; every error becomes `compile_error!`s.
pub(crate) fn expand(
    input: TokenStream,
    derive: fn(&DeriveInput) -> syn::Result<TokenStream>,
) -> TokenStream {
    match syn::parse2(input).and_then(|i| derive(&i)) {
        Ok(ts) => ts,
        Err(e) => e.to_compile_error(),
    }
}

/// The struct's named fields; an error spanned at what is not one. `why` ends the message
/// for unnamed fields ("derive(Module) needs named fields: they name the parameters").
pub(crate) fn named_fields<'a>(
    input: &'a DeriveInput,
    what: &str,
    why: &str,
) -> syn::Result<&'a FieldsNamed> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            format!("derive({what}) works on structs with named fields"),
        ));
    };
    match &data.fields {
        Fields::Named(fields) => Ok(fields),
        other => {
            Err(syn::Error::new(other.span(), format!("derive({what}) needs named fields: {why}")))
        }
    }
}

/// The backend type parameter: named `B`, or bounded by `…Backend`.
pub(crate) fn backend_param(input: &DeriveInput, what: &str) -> syn::Result<Ident> {
    let name = &input.ident;
    input
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
                input.generics.span().join(name.span()).unwrap_or(name.span()),
                format!("derive({what}) on `{name}` needs a backend type parameter, e.g. `struct {name}<B: Backend>`"),
            )
        })
}

/// `f` applied to every field, all errors collected into one.
pub(crate) fn each_field<T>(
    fields: &FieldsNamed,
    mut f: impl FnMut(&syn::Field) -> syn::Result<T>,
) -> syn::Result<Vec<T>> {
    let mut errors: Option<syn::Error> = None;
    let mut out = Vec::new();
    for field in &fields.named {
        match f(field) {
            Ok(v) => out.push(v),
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    errors.map_or(Ok(out), Err)
}
