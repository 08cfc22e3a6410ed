//! `MultiheadAttention<embed_dim, num_heads, causal = false, rope = false, dropout = 0.0>`: self-attention
//! `[seq, embed_dim] → [seq, embed_dim]`, PyTorch's `nn.MultiheadAttention(batch_first=True)`
//! with the keys masked to each sample's length (and to the steps up to each query when causal).

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Attr, Kind, KindDef, Out, Steps, private, size_type};
use crate::model::args::{flag, real, size};
use crate::model::infer::{Site, fmt_shape, is_seq};

/// The head count nearest `heads` (the smaller on a tie) that `ok` accepts.
fn nearest_heads(width: usize, heads: usize, ok: impl Fn(usize) -> bool) -> Option<usize> {
    (1..=width).filter(|&h| ok(h)).min_by_key(|&h| (h.abs_diff(heads), h))
}

/// `MultiheadAttention<width, heads, …>` with the other arguments as given.
fn written(a: &crate::model::args::Args, width: usize, heads: usize) -> String {
    written_form("MultiheadAttention", width, heads, a.flag(2), a.flag(3), a.real(4))
}

/// `Kind<width, heads, …>` as `describe` and the helps write it: the flags and dropout only
/// where they are not their defaults.
fn written_form(
    kind: &str,
    width: usize,
    heads: usize,
    causal: bool,
    rope: bool,
    dropout: f64,
) -> String {
    let c = if causal { ", causal = true" } else { "" };
    let r = if rope { ", rope = true" } else { "" };
    let d = if dropout > 0.0 { format!(", dropout = {dropout}") } else { String::new() };
    format!("{kind}<{width}, {heads}{c}{r}{d}>")
}

pub(crate) const MULTIHEAD_ATTENTION: KindDef = KindDef {
    name: "MultiheadAttention",
    params: &[
        size("embed_dim"),
        size("num_heads"),
        flag("causal", false),
        flag("rope", false),
        real("dropout", 0.0),
    ],
    build: |b, errors| {
        let a = &b.args;
        let (width, heads) = (a.size(0), a.size(1));
        if width % heads != 0 {
            let near: Vec<String> = (1..=width)
                .filter(|h| width % h == 0 && h.abs_diff(heads) <= 4)
                .map(|h| h.to_string())
                .collect();
            let fix = nearest_heads(width, heads, |h| width % h == 0)
                .map(|h| format!("\n  = help: write `{}: {}`", b.layer, written(a, width, h)))
                .unwrap_or_default();
            errors.push(syn::Error::new(
                a.span(1),
                format!(
                    "`{}`: {width} features do not split into {heads} heads ({width} / {heads} is not a whole number){fix}\n  = help: the head counts near {heads} that divide {width}: {}",
                    b.layer,
                    near.join(", ")
                ),
            ));
            return None;
        }
        let rope = a.flag(3);
        if rope && (width / heads) % 2 != 0 {
            let fix = nearest_heads(width, heads, |h| width % h == 0 && (width / h) % 2 == 0)
                .map(|h| format!("\n  = help: write `{}: {}`", b.layer, written(a, width, h)))
                .unwrap_or_default();
            errors.push(syn::Error::new(
                a.span(3),
                format!(
                    "`{}`: rotary embeddings rotate pairs of a head's features, but each of the {heads} heads has {} (an odd number){fix}",
                    b.layer,
                    width / heads
                ),
            ));
            return None;
        }
        let dropout = a.real(4);
        if !(0.0..1.0).contains(&dropout) {
            let msg =
                format!("attention dropout of `{}` must be in [0, 1), found {dropout}", b.layer);
            errors.push(syn::Error::new(a.span(4), msg));
            return None;
        }
        Some(Box::new(Attention {
            width: a.spanned(0),
            heads,
            causal: a.flag(2),
            rope,
            dropout,
            cross: false,
        }))
    },
};

/// `CrossAttention<embed_dim, num_heads>(queries, memory)`: a `MultiheadAttention` whose
/// queries come from the first value and keys and values from the second (PyTorch's decoder
/// `multihead_attn`), the memory's lengths masking its keys.
pub(crate) const CROSS_ATTENTION: KindDef = KindDef {
    name: "CrossAttention",
    params: &[size("embed_dim"), size("num_heads")],
    build: |b, errors| {
        let a = &b.args;
        let (width, heads) = (a.size(0), a.size(1));
        if width % heads != 0 {
            errors.push(syn::Error::new(
                a.span(1),
                format!("`{}`: {width} features do not split into {heads} heads ({width} / {heads} is not a whole number)", b.layer),
            ));
            return None;
        }
        Some(Box::new(Attention {
            width: a.spanned(0),
            heads,
            causal: false,
            rope: false,
            dropout: 0.0,
            cross: true,
        }))
    },
};

struct Attention {
    width: (usize, Span),
    heads: usize,
    causal: bool,
    /// Rotary embeddings on queries and keys.
    rope: bool,
    /// Dropout on the attention weights in training.
    dropout: f64,
    /// Cross-attention: two values, queries and memory.
    cross: bool,
}

impl Kind for Attention {
    fn name(&self) -> &'static str {
        if self.cross { CROSS_ATTENTION.name } else { MULTIHEAD_ATTENTION.name }
    }
    fn arity(&self) -> usize {
        if self.cross { 2 } else { 1 }
    }
    fn infer2(&self, site: &mut Site<'_>, a: &[usize], b: &[usize]) -> Option<Out> {
        let name = site.name().clone();
        let (first, second) = site
            .prev()
            .split_once(", ")
            .map(|(x, y)| (x.to_string(), y.to_string()))
            .unwrap_or_default();
        for (k, (what, shape)) in [(&first, a), (&second, b)].into_iter().enumerate() {
            if !is_seq(shape) || shape.len() != 2 || shape[1] != self.width.0 {
                // A sequence of another width: a per-step projection to the attention's width.
                let help = if is_seq(shape) && shape.len() == 2 {
                    let reads = if k == 0 {
                        format!("{what}_proj, {second}")
                    } else {
                        format!("{first}, {what}_proj")
                    };
                    format!(
                        "\n  = help: insert `{what}_proj: Linear<{}, {}>({what}),` before `{name}` and write `{name}: {}({reads})`",
                        shape[1],
                        self.width.0,
                        self.describe()
                    )
                } else {
                    String::new()
                };
                site.err(
                    self.width.1,
                    format!(
                        "`{name}` (CrossAttention) attends with sequences of {} features per step but `{what}` produces {}{help}",
                        self.width.0,
                        fmt_shape(shape)
                    ),
                );
                return None;
            }
        }
        Some(Out::new(a.to_vec()))
    }
    fn steps(&self) -> Steps {
        Steps::Sequence
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev) = (site.name().clone(), site.prev().to_string());
        if !is_seq(shape) || shape.len() != 2 {
            site.err(
                self.width.1,
                format!(
                    "`{name}` (MultiheadAttention) attends over a sequence [seq, embed_dim] but `{prev}` produces {}{}",
                    fmt_shape(shape),
                    if is_seq(shape) { String::new() } else { super::sequence_input_help(self.width.0) }
                ),
            );
            return None;
        }
        if shape[1] != self.width.0 {
            site.err(
                self.width.1,
                format!(
                    "`{name}` expects {} features per step but `{prev}` produces {}\n  = help: write `{name}: MultiheadAttention<{}, {}>` (with a head count that divides {})",
                    self.width.0, shape[1], shape[1], self.heads, shape[1]
                ),
            );
        }
        Some(Out::same(site, shape))
    }
    fn ty(&self) -> TokenStream {
        let (p, e, h) = (private(), size_type(self.width.0), size_type(self.heads));
        if self.cross {
            quote!(#p::layers::CrossAttention<#e, #h, B>)
        } else {
            quote!(#p::layers::MultiheadAttention<#e, #h, B>)
        }
    }
    fn init(&self, ty: &TokenStream) -> TokenStream {
        let p = private();
        let init = quote!(<#ty as #p::Init<B>>::init(dev, &mut rng));
        let init = if self.causal { quote!(#init.causal()) } else { init };
        let init = if self.rope { quote!(#init.rope()) } else { init };
        let p = self.dropout;
        if p > 0.0 { quote!(#init.with_dropout(#p, rng.next_u64())) } else { init }
    }
    fn describe(&self) -> String {
        written_form(self.name(), self.width.0, self.heads, self.causal, self.rope, self.dropout)
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("embed_dim", Attr::Int(self.width.0)),
            ("num_heads", Attr::Int(self.heads)),
            ("causal", Attr::Flag(self.causal)),
            ("rope", Attr::Flag(self.rope)),
            ("dropout", Attr::Real(self.dropout)),
        ]
    }
}
