//! `dim!(N)`: a literal as a typenum binary type.

use proc_macro2::TokenStream;
use quote::quote;

/// The typenum type for `n`: `UInt<UInt<UTerm, B1>, B0>` is 2.
pub(crate) fn typenum_type(n: u64) -> TokenStream {
    let p = quote!(::shapeflow::__private::typenum);
    if n == 0 {
        return quote!(#p::UTerm);
    }
    let mut ty = quote!(#p::UTerm);
    for bit in (0..(64 - n.leading_zeros())).rev() {
        let b = if (n >> bit) & 1 == 1 { quote!(#p::B1) } else { quote!(#p::B0) };
        ty = quote!(#p::UInt<#ty, #b>);
    }
    ty
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::LitInt>(input) {
        Ok(lit) => match lit.base10_parse::<u64>() {
            Ok(n) => typenum_type(n),
            Err(e) => e.to_compile_error(),
        },
        Err(e) => {
            syn::Error::new(e.span(), "dim! takes one unsigned integer literal, e.g. `dim!(3136)`")
                .to_compile_error()
        }
    }
}
