//! `MaxPool2d` and `AvgPool2d<kernel_size, stride = kernel_size, padding = 0>`:
//! `[c, h, w] → [c, h', w']`, PyTorch's window rule and its padding limit.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use super::{Attr, Build, Kind, KindDef, Out, private, size_type};
use crate::model::args::{Default, ParamSpec, ParamTy, count_or, size};
use crate::model::infer::{Site, fmt_shape, product};

const PARAMS: &[ParamSpec] = &[
    size("kernel_size"),
    ParamSpec { name: "stride", ty: ParamTy::Size, default: Default::SameAs(0) },
    count_or("padding", 0.0),
];

pub(crate) const MAX_POOL2D: KindDef =
    KindDef { name: "MaxPool2d", params: PARAMS, build: |b, _| Some(build(b, true)) };
pub(crate) const AVG_POOL2D: KindDef =
    KindDef { name: "AvgPool2d", params: PARAMS, build: |b, _| Some(build(b, false)) };

fn build(b: &Build<'_>, max: bool) -> Box<dyn Kind> {
    let a = &b.args;
    Box::new(Pool { max, kernel: a.spanned(0), stride: a.size(1), padding: a.spanned(2) })
}

struct Pool {
    max: bool,
    kernel: (usize, Span),
    stride: usize,
    padding: (usize, Span),
}

impl Kind for Pool {
    fn name(&self) -> &'static str {
        if self.max { MAX_POOL2D.name } else { AVG_POOL2D.name }
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev, kind) = (site.name().clone(), site.prev().to_string(), self.name());
        let (k, p) = (self.kernel.0, self.padding.0);
        if shape.len() != 3 {
            let msg = format!(
                "`{name}` ({kind}) needs an input [channels, height, width] but `{prev}` produces {}",
                fmt_shape(shape)
            );
            site.err(self.kernel.1, msg);
            return None;
        }
        if !shapeflow_rules::pool_padding_ok(k, p) {
            let msg = format!(
                "`{name}`: padding {p} is more than half the kernel size {k} (PyTorch's rule for pools)"
            );
            site.err(self.padding.1, msg);
            return None;
        }
        let outs: Option<Vec<usize>> = shape[1..]
            .iter()
            .map(|&n| shapeflow_rules::window_out(n, k, self.stride, p, 1))
            .collect();
        let Some(outs) = outs else {
            let padded: Vec<String> = shape[1..].iter().map(|n| (n + 2 * p).to_string()).collect();
            // The largest window that fits, its stride kept (or following it, by default).
            let fits = shape[1..].iter().map(|n| n + 2 * p).min().unwrap_or(0);
            let stride = if self.stride == k {
                String::new()
            } else {
                format!(", stride = {}", self.stride)
            };
            let padding =
                if p == 0 || 2 * p > fits { String::new() } else { format!(", padding = {p}") };
            let help = if fits >= 1 {
                format!(
                    "\n  = help: write `{name}: {}<{fits}{stride}{padding}>`, or pool less before it",
                    self.name()
                )
            } else {
                String::new()
            };
            site.err(
                self.kernel.1,
                format!(
                    "`{name}`: the {k}×{k} pooling window does not fit its input {} from `{prev}` ({} with padding){help}",
                    product(&shape[1..]),
                    padded.join(" × ")
                ),
            );
            return None;
        };
        Some(Out::new(std::iter::once(shape[0]).chain(outs).collect()))
    }
    fn ty(&self) -> TokenStream {
        let p = private();
        let kind = format_ident!("{}", self.name());
        let [k, s, pd] = [self.kernel.0, self.stride, self.padding.0].map(size_type);
        quote!(#p::layers::#kind<#k, #s, #pd>)
    }
    fn describe(&self) -> String {
        let mut s = format!("{}<{}", self.name(), self.kernel.0);
        if self.stride != self.kernel.0 {
            s.push_str(&format!(", stride = {}", self.stride));
        }
        if self.padding.0 != 0 {
            s.push_str(&format!(", padding = {}", self.padding.0));
        }
        s + ">"
    }
    fn sized(&self) -> bool {
        true
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("kernel_size", Attr::Int(self.kernel.0)),
            ("stride", Attr::Int(self.stride)),
            ("padding", Attr::Int(self.padding.0)),
        ]
    }
}
