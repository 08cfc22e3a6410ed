//! `model!`: parse -> validate (spec + shapes, every error collected) -> expand.

mod expand;
mod parse;
mod shapes;
mod spec;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let def = match syn::parse2::<parse::ModelDef>(input) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let layers = spec::resolve(&def, &mut errors);
    let flow = shapes::infer(&def, &layers, &mut errors);
    if errors.is_empty() {
        expand::model(&def, &layers, &flow)
    } else {
        let compile_errors = errors.iter().map(syn::Error::to_compile_error);
        let stub = expand::fallback(&def, flow.last_known());
        quote::quote!(#(#compile_errors)* #stub)
    }
}
