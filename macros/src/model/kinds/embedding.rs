//! `Embedding<num_embeddings, embedding_dim, padding_idx = none>`: token ids `[seq]` →
//! `[seq, embedding_dim]`, PyTorch's `nn.Embedding`.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Attr, Fusion, Kind, KindDef, Out, Steps, private, size_type};
use crate::model::args::{count_or, size};
use crate::model::infer::{Site, fmt_shape, is_seq};

pub(crate) const EMBEDDING: KindDef = KindDef {
    name: "Embedding",
    params: &[size("num_embeddings"), size("embedding_dim"), count_or("padding_idx", -1.0)],
    build: |b, errors| {
        let a = &b.args;
        let padding = (a.real(2) >= 0.0).then(|| a.size(2));
        if let Some(p) = padding
            && p >= a.size(0)
        {
            errors.push(syn::Error::new(
                a.span(2),
                format!(
                    "`padding_idx` of `{}` is {p} but the table has {} rows (ids 0 to {})\n  = help: write `{}: Embedding<{}, {}, padding_idx = {}>` (a row for the padding id after the {} tokens), or a `padding_idx` below {}",
                    b.layer,
                    a.size(0),
                    a.size(0) - 1,
                    b.layer,
                    p + 1,
                    a.size(1),
                    p,
                    a.size(0),
                    a.size(0)
                ),
            ));
            return None;
        }
        Some(Box::new(Embedding { vocab: a.size(0), dim: a.size(1), padding, span: a.span(0) }))
    },
};

struct Embedding {
    vocab: usize,
    dim: usize,
    padding: Option<usize>,
    span: Span,
}

impl Kind for Embedding {
    fn name(&self) -> &'static str {
        EMBEDDING.name
    }
    fn steps(&self) -> Steps {
        Steps::Sequence
    }
    fn fusion(&self) -> Fusion {
        Fusion::Table
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        if shape.len() != 1 {
            let (name, prev) = (site.name().clone(), site.prev().to_string());
            site.err(
                self.span,
                format!(
                    "`{name}` (Embedding) looks up one token id per step and needs an input [seq] (or [length]) but `{prev}` produces {}{}",
                    fmt_shape(shape),
                    if is_seq(shape) && site.producer(0).is_none() {
                        "\n  = help: token ids are one number per step: `input: [seq]`".to_string()
                    } else {
                        String::new()
                    }
                ),
            );
            return None;
        }
        Some(Out::new(vec![shape[0], self.dim]))
    }
    fn table(&self) -> Option<(usize, usize)> {
        Some((self.vocab, self.dim))
    }
    fn ty(&self) -> TokenStream {
        let (p, v, d) = (private(), size_type(self.vocab), size_type(self.dim));
        quote!(#p::layers::Embedding<#v, #d, B>)
    }
    fn init(&self, ty: &TokenStream) -> TokenStream {
        let p = private();
        let init = quote!(<#ty as #p::Init<B>>::init(dev, &mut rng));
        match self.padding {
            Some(k) => quote!(#init.with_padding_idx(#k)),
            None => init,
        }
    }
    fn describe(&self) -> String {
        let pad = self.padding.map(|p| format!(", padding_idx = {p}")).unwrap_or_default();
        format!("Embedding<{}, {}{pad}>", self.vocab, self.dim)
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        let mut a =
            vec![("num_embeddings", Attr::Int(self.vocab)), ("embedding_dim", Attr::Int(self.dim))];
        if let Some(p) = self.padding {
            a.push(("padding_idx", Attr::Int(p)));
        }
        a
    }
}
