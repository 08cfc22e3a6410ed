//! The arguments of a model with several inputs: one trait per input (`NetAcceptsImage`),
//! implemented by a borrow of the one tensor type that input takes, so a wrong argument (a
//! swapped pair, a wrong shape) is one short error at that argument naming the input, its
//! shape and the order of all of them, not rustc's mismatch of two full type paths.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::spans::{KEEP_SPANS, with_span};
use crate::model::infer::{Shapes, fmt_size};
use crate::model::ir::Graph;
use crate::model::kinds::private;

/// What `forward` and `forward_train` need per input.
pub(crate) struct InputArgs {
    /// The traits and their blanket impls.
    pub items: TokenStream,
    /// `<'x, X0: ?Sized, X1: ?Sized>`.
    pub generics: TokenStream,
    /// `image: &'x X0, meta: &'x X1`.
    pub params: TokenStream,
    /// `&'x X0: NetAcceptsImage<B>, …`.
    pub bounds: Vec<TokenStream>,
    /// `let in0 = NetAcceptsImage::as_model_input(&image); …`.
    pub lets: Vec<TokenStream>,
}

/// `image` → `Image`, `token_ids` → `TokenIds`.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// `trait {accepts}<B>` (its doc, failure message and label given), implemented by a borrow of
/// the one tensor type `ty`: a wrong argument is one short error at the argument, with the
/// message, instead of rustc's mismatch of type paths.
pub(crate) fn accepts_trait(
    vis: &syn::Visibility,
    accepts: &syn::Ident,
    [doc, message, label]: [&str; 3],
    ty: &TokenStream,
) -> TokenStream {
    let p = private();
    quote! {
        #[doc = #doc]
        #[diagnostic::on_unimplemented(message = #message, label = #label)]
        #vis trait #accepts<B: #p::Backend> {
            /// The tensor as the model's input type.
            fn as_model_input(&self) -> &#p::Tensor<#ty, B>;
        }

        // Implemented for `&X` by a blanket impl (see `shapeflow_core::operand`).
        #[diagnostic::do_not_recommend]
        impl<B: #p::Backend, X: ?Sized + #p::Is<#p::Tensor<#ty, B>>> #accepts<B> for &X {
            fn as_model_input(&self) -> &#p::Tensor<#ty, B> {
                #p::Is::is(&**self)
            }
        }
    }
}

pub(crate) fn input_args(
    g: &Graph,
    shapes: &Shapes,
    vis: &syn::Visibility,
    name: &syn::Ident,
    in_tys: &[TokenStream],
) -> InputArgs {
    let keep = format_ident!("{}", KEEP_SPANS);
    let desc = |k: usize| {
        let dims = shapes.inputs[k].as_deref().unwrap_or(&[]).iter().map(|&d| fmt_size(d));
        format!("[batch, {}]", dims.collect::<Vec<_>>().join(", "))
    };
    let order: Vec<String> =
        g.inputs.iter().enumerate().map(|(k, i)| format!("`{}` {}", i.name, desc(k))).collect();
    let order = order.join(", ");
    let (mut items, mut generics, mut params, mut bounds, mut lets) =
        (TokenStream::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, input) in g.inputs.iter().enumerate() {
        let arg = &input.name;
        let accepts = format_ident!("{}Accepts{}", name, camel(&arg.to_string()));
        let x = format_ident!("X{}", k);
        let var = format_ident!("in{}", k);
        let ty = &in_tys[k];
        let doc = format!(
            "Implemented by a borrow of the tensor type input `{arg}` of `{name}` takes ({}).",
            desc(k)
        );
        let message = format!("input `{arg}` of `{name}` on `{{B}}` is a tensor {}", desc(k));
        let label =
            format!("not a tensor {} on `{{B}}`; `{name}`'s inputs, in order: {order}", desc(k));
        items.extend(accepts_trait(vis, &accepts, [&doc, &message, &label], ty));
        generics.push(quote!(#x: ?Sized));
        params.push(quote!(#arg: &'x #x));
        let bound = with_span(quote!(&'x #x: #accepts<B>), name.span());
        bounds.push(quote!(#keep(#bound)));
        lets.push(quote!(let #var = #accepts::as_model_input(&#arg);));
    }
    InputArgs {
        items,
        generics: quote!(<'x, #(#generics),*>),
        params: quote!(#(#params),*),
        bounds,
        lets,
    }
}
