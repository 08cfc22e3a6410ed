//! `Dropout<p = 0.5>` (any shape) and `Dropout2d<p = 0.5>` (whole channels of `[c, …]`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Attr, Build, Kind, KindDef, Out, Steps, private};
use crate::model::args::real;
use crate::model::infer::{Site, fmt_shape};

pub(crate) const DROPOUT: KindDef =
    KindDef { name: "Dropout", params: &[real("p", 0.5)], build: |b, e| build(b, e, false) };
pub(crate) const DROPOUT2D: KindDef =
    KindDef { name: "Dropout2d", params: &[real("p", 0.5)], build: |b, e| build(b, e, true) };

fn build(b: &Build<'_>, errors: &mut Vec<syn::Error>, channels: bool) -> Option<Box<dyn Kind>> {
    let p = b.args.real(0);
    if !(0.0..1.0).contains(&p) {
        let msg = format!("dropout probability `p` of `{}` must be in [0, 1), found {p}", b.layer);
        errors.push(syn::Error::new(b.args.span(0), msg));
        return None;
    }
    Some(Box::new(Dropout { p, channels }))
}

struct Dropout {
    p: f64,
    channels: bool,
}

impl Kind for Dropout {
    fn steps(&self) -> Steps {
        if self.channels { Steps::Sample } else { Steps::Each }
    }
    fn name(&self) -> &'static str {
        if self.channels { DROPOUT2D.name } else { DROPOUT.name }
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        if self.channels && shape.len() < 2 {
            let (name, prev) = (site.name().clone(), site.prev().to_string());
            let msg = format!(
                "`{name}` (Dropout2d) drops whole channels and needs an input [channels, …] but `{prev}` produces {}; use `Dropout`",
                fmt_shape(shape)
            );
            site.err(name.span(), msg);
        }
        Some(Out::same(site, shape))
    }
    fn ty(&self) -> TokenStream {
        let (p, kind) = (private(), format_ident!("{}", self.name()));
        quote!(#p::layers::#kind)
    }
    fn init(&self, _: &TokenStream) -> TokenStream {
        let (p, kind, prob) = (private(), format_ident!("{}", self.name()), self.p);
        quote!(#p::layers::#kind::new(#prob, rng.next_u64()))
    }
    fn describe(&self) -> String {
        format!("{}<{}>", self.name(), self.p)
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![("p", Attr::Real(self.p))]
    }
}
