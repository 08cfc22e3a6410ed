//! `LayerNorm<normalized_shape, eps = 1e-5, elementwise_affine = true>`: normalises the last
//! axis, whose size must be `normalized_shape`; shape unchanged.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Attr, Kind, KindDef, Out, Steps, private, size_type};
use crate::model::args::{flag, real, size};
use crate::model::infer::{Site, fmt_shape};

pub(crate) const LAYER_NORM: KindDef = KindDef {
    name: "LayerNorm",
    params: &[size("normalized_shape"), real("eps", 1e-5), flag("elementwise_affine", true)],
    build: |b, _| {
        let a = &b.args;
        Some(Box::new(LayerNorm {
            features: a.spanned(0),
            eps: a.real(1),
            affine: a.flag(2),
            rms: false,
        }))
    },
};

/// `RmsNorm<normalized_shape, eps = 1e-6>`: PyTorch's `nn.RMSNorm`, the same rule.
pub(crate) const RMS_NORM: KindDef = KindDef {
    name: "RmsNorm",
    params: &[size("normalized_shape"), real("eps", 1e-6)],
    build: |b, _| {
        let a = &b.args;
        Some(Box::new(LayerNorm {
            features: a.spanned(0),
            eps: a.real(1),
            affine: true,
            rms: true,
        }))
    },
};

struct LayerNorm {
    features: (usize, Span),
    eps: f64,
    affine: bool,
    /// Root-mean-square normalisation (`RmsNorm`): no centring, no shift.
    rms: bool,
}

impl Kind for LayerNorm {
    fn steps(&self) -> Steps {
        Steps::Each
    }
    fn name(&self) -> &'static str {
        if self.rms { RMS_NORM.name } else { LAYER_NORM.name }
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let last = shape.last().copied().unwrap_or(0);
        if shape.len() > 3 {
            let (name, prev) = (site.name().clone(), site.prev().to_string());
            let msg = format!(
                "`{name}` ({}) takes inputs of at most 3 per-sample axes but `{prev}` produces {}",
                self.name(),
                fmt_shape(shape)
            );
            site.err(self.features.1, msg);
        } else if last != self.features.0 {
            let (name, prev) = (site.name().clone(), site.prev().to_string());
            let msg = format!(
                "`{name}` normalises {} features but the last axis of `{prev}` has {last} (it produces {})\n  = help: write `{name}: {}<{last}>`",
                self.features.0,
                fmt_shape(shape),
                self.name()
            );
            site.err(self.features.1, msg);
        }
        Some(Out::same(site, shape))
    }
    fn ty(&self) -> TokenStream {
        let (p, f) = (private(), size_type(self.features.0));
        if self.rms {
            quote!(#p::layers::RmsNorm<#f, B>)
        } else {
            quote!(#p::layers::LayerNorm<#f, B>)
        }
    }
    fn init(&self, ty: &TokenStream) -> TokenStream {
        let (eps, affine) = (self.eps, self.affine);
        if self.rms {
            let p = private();
            return quote!(<#ty as #p::Init<B>>::init(dev, &mut rng).with_eps(#eps));
        }
        quote!(<#ty>::with_config(dev, #eps, #affine))
    }
    fn describe(&self) -> String {
        let mut s = format!("{}<{}", self.name(), self.features.0);
        if self.eps != if self.rms { 1e-6 } else { 1e-5 } {
            s.push_str(&format!(", eps = {}", self.eps));
        }
        if !self.affine {
            s.push_str(", elementwise_affine = false");
        }
        s + ">"
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("normalized_shape", Attr::Int(self.features.0)),
            ("eps", Attr::Real(self.eps)),
            ("elementwise_affine", Attr::Flag(self.affine)),
        ]
    }
}
