//! `dim!(N)`: a literal as a static dimension type, `Const<N>`.

use proc_macro2::TokenStream;
use quote::quote;

/// The dimension type for `n`: `::shapeflow::__private::Const<n>`.
pub(crate) fn const_type(n: u64) -> TokenStream {
    let n = proc_macro2::Literal::usize_unsuffixed(n as usize);
    quote!(::shapeflow::__private::Const<#n>)
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::LitInt>(input) {
        Ok(lit) => match lit.base10_parse::<u64>() {
            Ok(n) => const_type(n),
            Err(e) => e.to_compile_error(),
        },
        Err(e) => {
            syn::Error::new(e.span(), "dim! takes one unsigned integer literal, e.g. `dim!(3136)`")
                .to_compile_error()
        }
    }
}
