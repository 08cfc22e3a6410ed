//! `Narrow<start, length>`: `length` entries of the first per-sample axis from `start`
//! (channels or features), as PyTorch's `x.narrow(1, start, length)`: `[c, …] → [length, …]`.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Attr, Kind, KindDef, Out, private, size_type};
use crate::model::args::{count_or, size};
use crate::model::infer::{Site, fmt_shape};

pub(crate) const NARROW: KindDef = KindDef {
    name: "Narrow",
    params: &[count_or("start", 0.0), size("length")],
    build: |b, _| Some(Box::new(Narrow { start: b.args.spanned(0), length: b.args.spanned(1) })),
};

struct Narrow {
    start: (usize, Span),
    length: (usize, Span),
}

impl Kind for Narrow {
    fn name(&self) -> &'static str {
        NARROW.name
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev) = (site.name().clone(), site.prev().to_string());
        let (start, length) = (self.start.0, self.length.0);
        if shape.is_empty() || shape.len() > 3 {
            let msg = format!(
                "`{name}` (Narrow) takes inputs of 1 to 3 per-sample axes but `{prev}` produces {}",
                fmt_shape(shape)
            );
            site.err(self.length.1, msg);
            return None;
        }
        if start + length > shape[0] {
            let n = shape[0];
            // `Narrow<start, length>` takes a length; a user who wrote an end meant `end - start`.
            let help = if start < n {
                let end = if start < length && length <= n {
                    format!(
                        ", or, if {length} was meant as the end, `{name}: Narrow<{start}, {}>`",
                        length - start
                    )
                } else {
                    String::new()
                };
                format!(
                    "\n  = help: `Narrow<start, length>` takes a length: for the rest of the axis ({start}..{n}) write `{name}: Narrow<{start}, {}>`{end}",
                    n - start
                )
            } else {
                String::new()
            };
            let msg = format!(
                "`{name}` takes entries {start}..{} of the first axis but `{prev}` has {n} ({}){help}",
                start + length,
                fmt_shape(shape)
            );
            site.err(self.length.1, msg);
            return None;
        }
        let mut out = shape.to_vec();
        out[0] = length;
        Some(Out::new(out))
    }
    fn ty(&self) -> TokenStream {
        let (p, s, l) = (private(), size_type(self.start.0), size_type(self.length.0));
        quote!(#p::layers::Narrow<#s, #l>)
    }
    fn describe(&self) -> String {
        format!("Narrow<{}, {}>", self.start.0, self.length.0)
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("dim", Attr::Int(1)),
            ("start", Attr::Int(self.start.0)),
            ("length", Attr::Int(self.length.0)),
        ]
    }
}
