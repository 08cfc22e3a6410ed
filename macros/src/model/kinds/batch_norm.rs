//! `BatchNorm1d` and `BatchNorm2d<num_features, eps = 1e-5, momentum = 0.1>`: shape unchanged;
//! the channel axis is the first per-sample axis.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Attr, Build, Fusion, Kind, KindDef, Out, private, size_type};
use crate::model::args::{ParamSpec, real, size};
use crate::model::infer::{Site, fmt_shape};

const PARAMS: &[ParamSpec] = &[size("num_features"), real("eps", 1e-5), real("momentum", 0.1)];

pub(crate) const BATCH_NORM1D: KindDef =
    KindDef { name: "BatchNorm1d", params: PARAMS, build: |b, _| Some(build(b, false)) };
pub(crate) const BATCH_NORM2D: KindDef =
    KindDef { name: "BatchNorm2d", params: PARAMS, build: |b, _| Some(build(b, true)) };

fn build(b: &Build<'_>, two_d: bool) -> Box<dyn Kind> {
    let a = &b.args;
    Box::new(BatchNorm { two_d, features: a.spanned(0), eps: a.real(1), momentum: a.real(2) })
}

struct BatchNorm {
    two_d: bool,
    features: (usize, Span),
    eps: f64,
    momentum: f64,
}

impl Kind for BatchNorm {
    fn fusion(&self) -> Fusion {
        Fusion::Normalizer
    }
    fn name(&self) -> &'static str {
        if self.two_d { BATCH_NORM2D.name } else { BATCH_NORM1D.name }
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev, kind) = (site.name().clone(), site.prev().to_string(), self.name());
        let ok_rank = if self.two_d { shape.len() == 3 } else { shape.len() <= 2 };
        if !ok_rank {
            let layout = if self.two_d {
                "[channels, height, width]"
            } else {
                "[features] or [channels, length]"
            };
            // The other batch norm takes what it is given: `BatchNorm2d` for an image,
            // `BatchNorm1d` for features or a signal.
            let help = match (self.two_d, shape.len()) {
                (false, 3) => format!("\n  = help: write `{name}: BatchNorm2d<{}>`", shape[0]),
                (true, 1 | 2) => format!("\n  = help: write `{name}: BatchNorm1d<{}>`", shape[0]),
                _ => String::new(),
            };
            let msg = format!(
                "`{name}` ({kind}) needs an input {layout} but `{prev}` produces {}{help}",
                fmt_shape(shape)
            );
            site.err(self.features.1, msg);
        } else if shape[0] != self.features.0 {
            let msg = format!(
                "`{name}` normalises {} channels but `{prev}` produces {}\n  = help: write `{name}: {kind}<{}>`",
                self.features.0, shape[0], shape[0]
            );
            site.err(self.features.1, msg);
        }
        Some(Out::same(site, shape))
    }
    fn ty(&self) -> TokenStream {
        let (p, c) = (private(), size_type(self.features.0));
        quote!(#p::layers::BatchNorm<#c, B>)
    }
    fn init(&self, ty: &TokenStream) -> TokenStream {
        let (eps, momentum) = (self.eps, self.momentum);
        quote!(<#ty>::with_config(dev, #eps, #momentum))
    }
    fn describe(&self) -> String {
        format!("{}<{}>", self.name(), self.features.0)
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("num_features", Attr::Int(self.features.0)),
            ("eps", Attr::Real(self.eps)),
            ("momentum", Attr::Real(self.momentum)),
        ]
    }
}
