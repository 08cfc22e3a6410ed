//! `model!`: parse → lower to a graph (names checked, kinds and arguments resolved) → infer
//! shapes → expand; every error is collected, and after any of them a fallback stub keeps later
//! uses of the model silent.

mod args;
mod expand;
mod infer;
mod ir;
mod kinds;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let def = match syn::parse2::<parse::ModelDef>(input) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let graph = ir::lower(&def, &mut errors);
    let shapes = infer::infer(&graph, &mut errors);
    if errors.is_empty() {
        expand::model(&def, &graph, &shapes)
    } else {
        let compile_errors = errors.iter().map(syn::Error::to_compile_error);
        let stub = expand::fallback(&def, &graph, &shapes);
        quote::quote!(#(#compile_errors)* #stub)
    }
}
