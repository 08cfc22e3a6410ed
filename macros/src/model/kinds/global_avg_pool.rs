//! `GlobalAvgPool2d`: `[c, h, w] → [c]`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Kind, KindDef, Out, private};
use crate::model::infer::{Site, fmt_shape};

pub(crate) const GLOBAL_AVG_POOL2D: KindDef =
    KindDef { name: "GlobalAvgPool2d", params: &[], build: |_, _| Some(Box::new(GlobalAvgPool)) };

struct GlobalAvgPool;

impl Kind for GlobalAvgPool {
    fn name(&self) -> &'static str {
        GLOBAL_AVG_POOL2D.name
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        if shape.len() != 3 {
            let (name, prev) = (site.name().clone(), site.prev().to_string());
            let msg = format!(
                "`{name}` (GlobalAvgPool2d) needs an input [channels, height, width] but `{prev}` produces {}",
                fmt_shape(shape)
            );
            site.err(name.span(), msg);
            return None;
        }
        Some(Out::new(vec![shape[0]]))
    }
    fn ty(&self) -> TokenStream {
        let p = private();
        quote!(#p::layers::GlobalAvgPool2d)
    }
    fn describe(&self) -> String {
        self.name().to_string()
    }
}
