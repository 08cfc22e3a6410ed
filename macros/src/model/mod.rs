//! `model!`: parse → lower to a graph (names checked, kinds and arguments resolved) → infer
//! shapes → expand; every error is collected, and after any of them a fallback stub keeps later
//! uses of the models silent. One block may declare several models, each usable as a node of
//! the ones after it.

mod args;
mod expand;
mod infer;
mod ir;
mod kinds;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let defs = match syn::parse2::<parse::ModelDefs>(input) {
        Ok(defs) => defs.0,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let names: Vec<syn::Ident> = defs.iter().map(|d| d.name.clone()).collect();
    let graphs: Vec<ir::Graph> = defs
        .iter()
        .enumerate()
        .map(|(i, def)| ir::lower(def, &names[..i], &names[i + 1..], &mut errors))
        .collect();
    let mut instances = infer::Instances::default();
    let shapes: Vec<infer::Shapes> =
        (0..graphs.len()).map(|m| infer::infer(&graphs, m, &mut instances, &mut errors)).collect();
    if errors.is_empty() {
        let models = (0..defs.len()).map(|m| {
            let uses: Vec<&infer::Instance> =
                instances.list.iter().filter(|i| i.model == m).collect();
            expand::model(&defs[m], &graphs[m], &shapes[m], &uses)
        });
        quote::quote!(#(#models)*)
    } else {
        let compile_errors = errors.iter().map(syn::Error::to_compile_error);
        let stubs = (0..defs.len()).map(|m| expand::fallback(&defs[m], &graphs[m], &shapes[m]));
        quote::quote!(#(#compile_errors)* #(#stubs)*)
    }
}
