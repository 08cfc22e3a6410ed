//! `Flatten`: `[a, b, …] → [a·b·…]`; leaves a note that a mismatched `Linear` after it quotes.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Kind, KindDef, Out, private};
use crate::model::infer::{Site, fmt_shape, product};

pub(crate) const FLATTEN: KindDef =
    KindDef { name: "Flatten", params: &[], build: |_, _| Some(Box::new(Flatten)) };

struct Flatten;

impl Kind for Flatten {
    fn name(&self) -> &'static str {
        FLATTEN.name
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let flat = vec![shapeflow_rules::flat_size(shape)];
        if shape.len() > 1 {
            let note = format!(
                "= {}, the flattened {} of `{}`",
                product(shape),
                fmt_shape(shape),
                site.prev()
            );
            Some(Out { shape: flat, note: Some(note) })
        } else {
            Some(Out::same(site, &flat))
        }
    }
    fn ty(&self) -> TokenStream {
        let p = private();
        quote!(#p::layers::Flatten)
    }
    fn describe(&self) -> String {
        self.name().to_string()
    }
    fn sized(&self) -> bool {
        true
    }
}
