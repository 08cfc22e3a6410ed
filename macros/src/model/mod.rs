//! `model!`: parse → lower to a graph (names checked, kinds and arguments resolved) → infer
//! shapes → expand; every error is collected, and after any of them a fallback stub keeps later
//! uses of the models silent. One block may declare several models, each usable as a node of
//! the ones after it.

mod args;
mod expand;
mod infer;
mod instantiate;
mod ir;
mod kinds;
mod lower_op;
mod parse;
mod parse_args;
mod sequence;
mod size_expr;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let defs = match syn::parse2::<parse::ModelDefs>(input) {
        Ok(defs) => defs.0,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let built = instantiate::build(defs, &mut errors);
    let mut defs = built.defs;
    defs.iter_mut().for_each(sequence::unfold);
    let names: Vec<syn::Ident> = defs.iter().map(|d| d.name.clone()).collect();
    let shown: Vec<(syn::Ident, String)> =
        defs.iter().map(|d| (d.name.clone(), d.shown.clone())).collect();
    let graphs: Vec<ir::Graph> = defs
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let before = errors.len();
            let g = ir::lower(def, &shown[..i], &names[i + 1..], &mut errors);
            after_build(&mut errors, before, built.poisoned[i], built.notes[i].as_deref());
            g
        })
        .collect();
    let mut instances = infer::Instances::default();
    let shapes: Vec<infer::Shapes> = (0..graphs.len())
        .map(|m| {
            let before = errors.len();
            let s = infer::infer(&graphs, m, &mut instances, &mut errors);
            after_build(&mut errors, before, built.poisoned[m], built.notes[m].as_deref());
            s
        })
        .collect();
    if errors.is_empty() {
        let models = (0..defs.len()).map(|m| {
            let uses: Vec<&infer::Instance> =
                instances.list.iter().filter(|i| i.model == m).collect();
            expand::model(&defs[m], &graphs[m], &shapes[m], &uses)
        });
        let aliases = built.templates.iter().map(expand::template_alias);
        quote::quote!(#(#models)* #(#aliases)*)
    } else {
        let compile_errors = errors.iter().map(syn::Error::to_compile_error);
        let stubs = (0..defs.len()).map(|m| expand::fallback(&defs[m], &graphs[m], &shapes[m]));
        let aliases = built.templates.iter().map(expand::template_alias);
        quote::quote!(#(#compile_errors)* #(#stubs)* #(#aliases)*)
    }
}

/// Errors found in a model built from a parameterised one name the build (`= note: in
/// `BasicBlock<64, 128, 2>` (IN = 64, …), used by `layer2` of `ResNet``); after its build
/// failed, they would repeat that error and are dropped. The same error in two builds is kept
/// once.
fn after_build(errors: &mut Vec<syn::Error>, before: usize, poisoned: bool, note: Option<&str>) {
    if poisoned {
        errors.truncate(before);
        return;
    }
    let Some(note) = note else { return };
    let fresh: Vec<syn::Error> = errors.drain(before..).collect();
    for e in fresh {
        let first_line = e.to_string();
        let seen = errors.iter().any(|old| {
            old.to_string().split("\n  = note: in `").next() == Some(first_line.as_str())
        });
        if !seen {
            errors.push(syn::Error::new(e.span(), format!("{e}\n  = note: {note}")));
        }
    }
}
