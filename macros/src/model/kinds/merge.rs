//! The merge kinds: `Add`, `Sub`, `Mul` (two values of one shape to one, elementwise:
//! `sum: Add(x, c2)`) and `Concat` (two values joined along their first per-sample axis, the
//! other sizes equal: `cat: Concat(a, b)`); called through `Merge`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Kind, KindDef, Out, Steps, private};
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
merge!(CONCAT, "Concat");

struct Merge(&'static str);

impl Kind for Merge {
    fn steps(&self) -> Steps {
        if self.0 == CONCAT.name { Steps::Sample } else { Steps::Each }
    }
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
        if self.0 == CONCAT.name {
            return concat(site, a, b);
        }
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

/// `Concat`'s rule: equal ranks and equal sizes after the first, which add up.
fn concat(site: &mut Site<'_>, a: &[usize], b: &[usize]) -> Option<Out> {
    if a.len() == b.len() && a.len() <= 3 && a[1..] == b[1..] {
        let mut out = a.to_vec();
        out[0] += b[0];
        return Some(Out::new(out));
    }
    let name = site.name().clone();
    let (first, second) = site.prev().split_once(", ").unwrap_or((site.prev(), "?"));
    let why = if a.len() > 3 || b.len() > 3 {
        "takes values of at most 3 per-sample axes".to_string()
    } else {
        "joins along the first axis, so the other sizes must agree".to_string()
    };
    let msg = format!(
        "`{name}` (Concat) {why}, but `{first}` is {} and `{second}` is {}",
        fmt_shape(a),
        fmt_shape(b)
    );
    site.err(name.span(), msg);
    None
}
