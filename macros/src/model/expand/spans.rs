//! Spans of generated code: where rustc points its notes, and which tokens read as the user's.

use proc_macro2::TokenStream;

/// `tokens` located at `span`, so rustc's notes about generated items point at one token of the
/// user's declaration instead of the whole `model!` block. Only the location moves: each token
/// keeps its hygiene, so lints still see generated code as coming from a macro. With `None`,
/// spans are left as they are.
///
/// A group after the marker ident [`KEEP_SPANS`] is passed through with its own spans (the marker
/// dropped): generated code given a user token's span by [`with_span`] (the model's input bound,
/// the uses of a custom layer with a stated output), so that rustc treats errors there as the
/// user's code: no "originates in the macro" note, and identical errors merge.
pub(crate) fn respan(tokens: TokenStream, span: Option<proc_macro2::Span>) -> TokenStream {
    let mut out = TokenStream::new();
    let mut keep_next = false;
    for mut tt in tokens {
        match &mut tt {
            proc_macro2::TokenTree::Ident(i) if i == KEEP_SPANS => {
                keep_next = true;
                continue;
            }
            proc_macro2::TokenTree::Group(g) if keep_next => {
                out.extend(respan(g.stream(), None));
                keep_next = false;
                continue;
            }
            proc_macro2::TokenTree::Group(g) => {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span.map_or(g.span(), |s| g.span().located_at(s)));
                tt = proc_macro2::TokenTree::Group(group);
            }
            other => {
                if let Some(s) = span {
                    other.set_span(other.span().located_at(s));
                }
            }
        }
        keep_next = false;
        out.extend([tt]);
    }
    out
}

/// See [`respan`].
pub(crate) const KEEP_SPANS: &str = "__shapeflow_keep_spans";

/// `tokens` with every span set to `span` (location and hygiene: a user token's span makes the
/// tokens read as the user's own code).
pub(crate) fn with_span(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), with_span(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
