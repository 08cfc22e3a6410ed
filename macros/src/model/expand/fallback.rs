//! After a DSL error: the same public items with the declared input type and no working bodies,
//! so the user sees the one real error rather than a cascade from code that uses the model.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::plan::shape_type;
use crate::model::infer::Shapes;
use crate::model::ir::{Dim, Graph};
use crate::model::kinds::private;
use crate::model::parse::ModelDef;

pub(crate) fn fallback(def: &ModelDef, g: &Graph, shapes: &Shapes) -> TokenStream {
    let p = private();
    let (name, vis, attrs) = (&def.name, &def.vis, &def.attrs);
    let cache_name = format_ident!("{}Cache", name);
    // A named runtime size (reported) becomes the runtime dimension.
    let dims = g.inputs[0].dims.iter().map(|(d, _)| match d {
        Dim::Fixed(n) => crate::dim::const_type(*n as u64),
        Dim::Runtime(_) | Dim::Any => quote!(#p::Dyn),
    });
    let s0 = quote!((#p::Dyn, #(#dims,)*));
    let sn = shape_type(&shapes.last_known(g));
    quote! {
        #(#attrs)*
        #vis struct #name<B: #p::Backend>(::core::marker::PhantomData<B>);
        #vis struct #cache_name<B: #p::Backend>(::core::marker::PhantomData<B>);
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #name<B> {
            pub fn new(dev: &B, seed: u64) -> Self { ::core::unreachable!() }
            pub fn forward(&self, x: &#p::Tensor<#s0, B>) -> #p::Tensor<#sn, B> { ::core::unreachable!() }
            pub fn forward_train(&mut self, x: &#p::Tensor<#s0, B>) -> (#p::Tensor<#sn, B>, #cache_name<B>) { ::core::unreachable!() }
            pub fn backward(&self, cache: &#cache_name<B>, dy: &#p::Tensor<#sn, B>) -> #p::Result<Self> { ::core::unreachable!() }
            pub fn backward_with_input(&self, cache: &#cache_name<B>, dy: &#p::Tensor<#sn, B>) -> #p::Result<(#p::Tensor<#s0, B>, Self)> { ::core::unreachable!() }
            pub fn num_params(&self) -> usize { ::core::unreachable!() }
            pub fn graph(&self) -> #p::Graph { ::core::unreachable!() }
            pub fn summary(&self) -> #p::Summary { ::core::unreachable!() }
        }
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #p::Init<B> for #name<B> {
            fn init(dev: &B, rng: &mut #p::Rng) -> Self { ::core::unreachable!() }
        }
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #p::Module<B> for #name<B> {
            fn visit_params(&self, path: &mut String, f: &mut #p::VisitFn<'_, B>) {}
            fn visit_params_mut(&mut self, path: &mut String, f: &mut #p::VisitMutFn<'_, B>) {}
            fn visit_params_with_grads(&mut self, grads: &Self, path: &mut String, f: &mut #p::VisitGradsFn<'_, B>) {}
        }
    }
}
