//! `LastStep<bidirectional = false>` and `MeanOverTime`: `[seq, features] → [features]`, each
//! sample over its own length.

use proc_macro2::TokenStream;
use quote::quote;

use super::recurrent::BIDIRECTIONAL;
use super::{Attr, Kind, KindDef, Out, Steps, private};
use crate::model::args::flag;
use crate::model::infer::{Site, fmt_shape, is_seq};

pub(crate) const LAST_STEP: KindDef = KindDef {
    name: "LastStep",
    params: &[flag("bidirectional", false)],
    build: |b, _| Some(Box::new(TimePool { last: true, bidirectional: b.args.flag(0) })),
};

pub(crate) const MEAN_OVER_TIME: KindDef = KindDef {
    name: "MeanOverTime",
    params: &[],
    build: |_, _| Some(Box::new(TimePool { last: false, bidirectional: false })),
};

struct TimePool {
    last: bool,
    bidirectional: bool,
}

impl Kind for TimePool {
    fn name(&self) -> &'static str {
        if self.last { LAST_STEP.name } else { MEAN_OVER_TIME.name }
    }
    fn steps(&self) -> Steps {
        Steps::Sequence
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev) = (site.name().clone(), site.prev().to_string());
        if !is_seq(shape) || shape.len() != 2 {
            site.err(
                name.span(),
                format!(
                    "`{name}` ({}) reduces the steps of a sequence [seq, features] but `{prev}` produces {}",
                    self.name(),
                    fmt_shape(shape)
                ),
            );
            return None;
        }
        let paired = site.note() == Some(BIDIRECTIONAL);
        if self.last && paired != self.bidirectional {
            let msg = if paired {
                format!(
                    "`{name}` follows the bidirectional `{prev}`, whose reverse direction ends at each sample's first step\n  = help: write `{name}: LastStep<bidirectional = true>` (PyTorch's `h_n` of both directions)"
                )
            } else {
                format!(
                    "`{name}` is `LastStep<bidirectional = true>` but `{prev}` is not the output of a bidirectional recurrent layer\n  = help: write `{name}: LastStep`"
                )
            };
            site.err(name.span(), msg);
        }
        Some(Out::new(vec![shape[1]]))
    }
    fn ty(&self) -> TokenStream {
        let p = private();
        if self.last { quote!(#p::layers::LastStep) } else { quote!(#p::layers::MeanOverTime) }
    }
    fn init(&self, ty: &TokenStream) -> TokenStream {
        if self.last {
            let bi = self.bidirectional;
            quote!(#ty { bidirectional: #bi })
        } else {
            quote!(#ty)
        }
    }
    fn describe(&self) -> String {
        match (self.last, self.bidirectional) {
            (true, true) => "LastStep<bidirectional = true>".into(),
            _ => self.name().to_string(),
        }
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        if self.last { vec![("bidirectional", Attr::Flag(self.bidirectional))] } else { Vec::new() }
    }
}
