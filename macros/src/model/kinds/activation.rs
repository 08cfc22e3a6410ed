//! The activations: `Relu`, `LeakyRelu<negative_slope = 0.01>`, `Sigmoid`, `Tanh`, `Gelu`;
//! shape unchanged.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Attr, Fusion, Kind, KindDef, Out, Steps, private};
use crate::model::args::real;
use crate::model::infer::Site;

/// A parameterless activation named `$name`.
macro_rules! plain {
    ($def:ident, $name:literal) => {
        pub(crate) const $def: KindDef = KindDef {
            name: $name,
            params: &[],
            build: |_, _| Some(Box::new(Activation { name: $name, slope: None })),
        };
    };
}
plain!(RELU, "Relu");
plain!(SIGMOID, "Sigmoid");
plain!(TANH, "Tanh");
plain!(GELU, "Gelu");
plain!(GELU_TANH, "GeluTanh");

pub(crate) const LEAKY_RELU: KindDef = KindDef {
    name: "LeakyRelu",
    params: &[real("negative_slope", 0.01)],
    build: |b, _| Some(Box::new(Activation { name: "LeakyRelu", slope: Some(b.args.real(0)) })),
};

struct Activation {
    name: &'static str,
    /// `LeakyRelu`'s negative slope.
    slope: Option<f64>,
}

impl Kind for Activation {
    fn steps(&self) -> Steps {
        Steps::Each
    }
    fn fusion(&self) -> Fusion {
        if self.name == "Relu" { Fusion::Rectifier } else { Fusion::None }
    }
    fn name(&self) -> &'static str {
        self.name
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        Some(Out::same(site, shape))
    }
    fn ty(&self) -> TokenStream {
        let (p, kind) = (private(), format_ident!("{}", self.name));
        quote!(#p::layers::#kind)
    }
    fn init(&self, ty: &TokenStream) -> TokenStream {
        match self.slope {
            Some(s) => quote!(<#ty>::new(#s)),
            None => {
                let p = private();
                quote!(<#ty as #p::Init<B>>::init(dev, &mut rng))
            }
        }
    }
    fn describe(&self) -> String {
        match self.slope {
            Some(s) => format!("{}<{s}>", self.name),
            None => self.name.to_string(),
        }
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        self.slope.map(|s| vec![("negative_slope", Attr::Real(s))]).unwrap_or_default()
    }
}
