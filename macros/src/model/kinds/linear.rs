//! `Linear<in_features, out_features, bias = true>`: `[in] → [out]`.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Attr, Kind, KindDef, Out, Steps, private, size_type};
use crate::model::args::{flag, size};
use crate::model::infer::{Site, fmt_shape, product};

pub(crate) const LINEAR: KindDef = KindDef {
    name: "Linear",
    params: &[size("in_features"), size("out_features"), flag("bias", true)],
    build: |b, _| {
        let a = &b.args;
        Some(Box::new(Linear { input: a.spanned(0), output: a.size(1), bias: a.flag(2) }))
    },
};

struct Linear {
    input: (usize, Span),
    output: usize,
    bias: bool,
}

impl Kind for Linear {
    fn steps(&self) -> Steps {
        Steps::EachWrapped
    }
    fn name(&self) -> &'static str {
        LINEAR.name
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev) = (site.name().clone(), site.prev().to_string());
        let (input, output) = (self.input, self.output);
        if shape.len() != 1 {
            site.err(
                input.1,
                format!(
                    "`{name}` (Linear) needs a flat input [features] but `{prev}` produces {}\n  = help: add `flat: Flatten,` before `{name}`; the flat size is {} = {}",
                    fmt_shape(shape),
                    product(shape),
                    shape.iter().product::<usize>()
                ),
            );
        } else if shape[0] != input.0 {
            let how = site.note().map(|n| format!(" ({n})")).unwrap_or_default();
            site.err(
                input.1,
                format!(
                    "`{name}` expects {} input features but `{prev}` produces {}{how}\n  = help: write `{name}: Linear<{}, {output}{}>`",
                    input.0, shape[0], shape[0], if self.bias { "" } else { ", bias = false" }
                ),
            );
        }
        Some(Out::new(vec![output]))
    }
    fn ty(&self) -> TokenStream {
        let (p, i, o) = (private(), size_type(self.input.0), size_type(self.output));
        quote!(#p::layers::Linear<#i, #o, B>)
    }
    fn init(&self, ty: &TokenStream) -> TokenStream {
        let p = private();
        let init = quote!(<#ty as #p::Init<B>>::init(dev, &mut rng));
        if self.bias { init } else { quote!(#init.without_bias()) }
    }
    fn describe(&self) -> String {
        let bias = if self.bias { "" } else { ", bias = false" };
        format!("Linear<{}, {}{bias}>", self.input.0, self.output)
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("in_features", Attr::Int(self.input.0)),
            ("out_features", Attr::Int(self.output)),
            ("bias", Attr::Flag(self.bias)),
        ]
    }
}
