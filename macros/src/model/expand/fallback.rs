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
    let input_type = |input: &crate::model::ir::Input| {
        let dims = input.dims.iter().map(|(d, _)| match d {
            Dim::Fixed(n) => crate::dim::const_type(*n as u64),
            Dim::Runtime(_) | Dim::Any => quote!(#p::Dyn),
        });
        quote!((#p::Dyn, #(#dims,)*))
    };
    let s0 = input_type(&g.inputs[0]);
    let sn = shape_type(&shapes.last_known(g));
    let flat = shapes
        .last_known(g)
        .iter()
        .filter(|&&d| d != crate::model::infer::SEQ)
        .fold(1usize, |a, &d| a.saturating_mul(d));
    let flat = crate::dim::const_type(flat.max(1) as u64);
    let traits = quote! {
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #p::Init<B> for #name<B> {
            fn init(dev: &B, rng: &mut #p::Rng) -> Self { ::core::unreachable!() }
        }
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #p::Described for #name<B> {
            fn graph(&self) -> #p::Graph { ::core::unreachable!() }
        }
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #p::Module<B> for #name<B> {
            fn visit_params(&self, path: &mut String, f: &mut #p::VisitFn<'_, B>) {}
            fn visit_params_mut(&mut self, path: &mut String, f: &mut #p::VisitMutFn<'_, B>) {}
            fn visit_params_with_grads(&mut self, grads: &Self, path: &mut String, f: &mut #p::VisitGradsFn<'_, B>) {}
        }
    };
    if !g.is_layer() {
        let args: Vec<&syn::Ident> = g.inputs.iter().map(|i| &i.name).collect();
        let tys: Vec<TokenStream> = g.inputs.iter().map(input_type).collect();
        let outs: Vec<TokenStream> = g
            .outputs
            .iter()
            .map(|&r| shape_type(shapes.of(r).map_or(&[][..], |s| s.as_slice())))
            .collect();
        // The same signatures as the working expansion (`multi.rs`): one output as itself.
        let (out_ty, dys) = if outs.len() == 1 {
            (quote!(#( #p::Tensor<#outs, B> )*), quote!(dy: #( &#p::Tensor<#outs, B> )*))
        } else {
            (quote!((#( #p::Tensor<#outs, B>, )*)), quote!(dys: (#( &#p::Tensor<#outs, B>, )*)))
        };
        return quote! {
            #(#attrs)*
            #vis struct #name<B: #p::Backend>(::core::marker::PhantomData<B>);
            #vis struct #cache_name<B: #p::Backend>(::core::marker::PhantomData<B>);
            #[allow(unused_variables, clippy::all)]
            impl<B: #p::Backend> #name<B> {
                pub fn new(dev: &B, seed: u64) -> Self { ::core::unreachable!() }
                pub fn forward(&self, #( #args: &#p::Tensor<#tys, B>, )*) -> #out_ty { ::core::unreachable!() }
                pub fn forward_train(&mut self, #( #args: &#p::Tensor<#tys, B>, )*) -> (#out_ty, #cache_name<B>) { ::core::unreachable!() }
                pub fn backward(&self, cache: &#cache_name<B>, #dys) -> #p::Result<Self> { ::core::unreachable!() }
                pub fn backward_with_input(&self, cache: &#cache_name<B>, #dys) -> #p::Result<((#( #p::Tensor<#tys, B>, )*), Self)> { ::core::unreachable!() }
                pub fn num_params(&self) -> usize { ::core::unreachable!() }
                pub fn graph(&self) -> #p::Graph { ::core::unreachable!() }
                pub fn summary(&self) -> #p::Summary { ::core::unreachable!() }
            }
            #traits
        };
    }
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
        // A `Layer` at the declared input, its output a batch of vectors (what `fit`,
        // `evaluate` and `predict` take), so passing the broken model on adds no error.
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #p::Layer<#s0, B> for #name<B> {
            type Output = (#p::Dyn, #flat);
            type Cache = #cache_name<B>;
            fn forward(&self, x: &#p::Tensor<#s0, B>) -> #p::Tensor<Self::Output, B> { ::core::unreachable!() }
            fn forward_train(&mut self, x: &#p::Tensor<#s0, B>) -> (#p::Tensor<Self::Output, B>, Self::Cache) { ::core::unreachable!() }
            fn backward(&self, cache: &Self::Cache, dy: &#p::Tensor<Self::Output, B>) -> #p::Result<(#p::Tensor<#s0, B>, Self)> { ::core::unreachable!() }
        }
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> ::core::fmt::Debug for #name<B> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result { ::core::unreachable!() }
        }
        #traits
    }
}
