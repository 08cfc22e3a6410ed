//! The one `Module` visitor implementation: every listed field visited under its name, in
//! order. `#[derive(Module)]` and `model!` both generate it through [`module_impl`].

use proc_macro2::TokenStream;
use quote::quote;

/// `impl<generics> Module<backend> for ty` visiting each field under its name in parameter
/// paths (the field's own, or `downsample.0` for `model!`'s `downsample_0`).
pub(crate) fn module_impl(
    header: TokenStream,
    backend: &TokenStream,
    named: &[(syn::Ident, String)],
) -> TokenStream {
    let p = quote!(::shapeflow::__private);
    let fields: Vec<&syn::Ident> = named.iter().map(|(f, _)| f).collect();
    let strs: Vec<&String> = named.iter().map(|(_, s)| s).collect();
    quote! {
        #header {
            fn visit_params(&self, path: &mut String, f: &mut #p::VisitFn<'_, #backend>) {
                #( #p::with_field(path, #strs, |path| #p::Module::<#backend>::visit_params(&self.#fields, path, f)); )*
            }
            fn visit_params_mut(&mut self, path: &mut String, f: &mut #p::VisitMutFn<'_, #backend>) {
                #( #p::with_field(path, #strs, |path| #p::Module::<#backend>::visit_params_mut(&mut self.#fields, path, f)); )*
            }
            fn visit_params_with_grads(
                &mut self,
                grads: &Self,
                path: &mut String,
                f: &mut #p::VisitGradsFn<'_, #backend>,
            ) {
                #( #p::with_field(path, #strs, |path| #p::Module::<#backend>::visit_params_with_grads(&mut self.#fields, &grads.#fields, path, f)); )*
            }
            fn visit_state(&self, path: &mut String, f: &mut #p::StateFn<'_, #backend>) {
                #( #p::with_field(path, #strs, |path| #p::Module::<#backend>::visit_state(&self.#fields, path, f)); )*
            }
            fn visit_state_mut(&mut self, path: &mut String, f: &mut #p::StateMutFn<'_, #backend>) {
                #( #p::with_field(path, #strs, |path| #p::Module::<#backend>::visit_state_mut(&mut self.#fields, path, f)); )*
            }
            fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
                #( #p::with_field(path, #strs, |path| #p::Module::<#backend>::visit_rng(&mut self.#fields, path, f)); )*
            }
            fn visit_tensors_mut(&mut self, path: &mut String, f: &mut #p::TensorsMutFn<'_, #backend>) {
                #( #p::with_field(path, #strs, |path| #p::Module::<#backend>::visit_tensors_mut(&mut self.#fields, path, f)); )*
            }
        }
    }
}
