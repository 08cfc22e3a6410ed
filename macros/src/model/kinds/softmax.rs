//! `Softmax` and `LogSoftmax` over the last axis; shape unchanged.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Kind, KindDef, Out, Steps, private};
use crate::model::infer::Site;

pub(crate) const SOFTMAX: KindDef =
    KindDef { name: "Softmax", params: &[], build: |_, _| Some(Box::new(Softmax("Softmax"))) };
pub(crate) const LOG_SOFTMAX: KindDef = KindDef {
    name: "LogSoftmax",
    params: &[],
    build: |_, _| Some(Box::new(Softmax("LogSoftmax"))),
};

struct Softmax(&'static str);

impl Kind for Softmax {
    fn steps(&self) -> Steps {
        Steps::Each
    }
    fn name(&self) -> &'static str {
        self.0
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        Some(Out::same(site, shape))
    }
    fn ty(&self) -> TokenStream {
        let (p, kind) = (private(), format_ident!("{}", self.0));
        quote!(#p::layers::#kind)
    }
    fn describe(&self) -> String {
        self.0.to_string()
    }
}
