//! The merge kinds `Add`, `Sub`, `Mul`: two values of one shape to one, elementwise
//! (`sum: Add(x, c2)`); called through `Merge`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Kind, KindDef, Out, private};
use crate::model::infer::{Site, fmt_shape};

/// A merge kind named `$name`.
macro_rules! merge {
    ($def:ident, $name:literal) => {
        pub(crate) const $def: KindDef =
            KindDef { name: $name, params: &[], build: |_, _| Some(Box::new(Merge($name))) };
    };
}
merge!(ADD, "Add");
merge!(SUB, "Sub");
merge!(MUL, "Mul");

struct Merge(&'static str);

impl Kind for Merge {
    fn name(&self) -> &'static str {
        self.0
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        Some(Out::same(site, shape))
    }
    fn arity(&self) -> usize {
        2
    }
    fn infer2(&self, site: &mut Site<'_>, a: &[usize], b: &[usize]) -> Option<Out> {
        if a != b {
            let name = site.name().clone();
            let (first, second) = site.prev().split_once(", ").unwrap_or((site.prev(), "?"));
            let msg = format!(
                "`{name}` ({}) needs two values of one shape but `{first}` is {} and `{second}` is {}",
                self.0,
                fmt_shape(a),
                fmt_shape(b)
            );
            site.err(name.span(), msg);
            return None;
        }
        Some(Out::new(a.to_vec()))
    }
    fn ty(&self) -> TokenStream {
        let (p, kind) = (private(), format_ident!("{}", self.0));
        quote!(#p::layers::#kind)
    }
    fn describe(&self) -> String {
        self.0.to_string()
    }
}
