//! The arguments of the `model!` syntax: a kind's `<784, 128, bias = false>` (literals,
//! parameters and arithmetic on them) and a model's `<const IN: usize, const STRIDE: usize = 1>`.

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, Token, Type};

use super::parse::{Arg, ArgValue, ParamDecl};
use super::size_expr::SizeExpr;

/// `<784, 128>` after a kind (nothing when it has none), and the span of the whole kind.
pub(crate) fn parse_kind_args(kind: &Ident, input: ParseStream) -> syn::Result<(Vec<Arg>, Span)> {
    let mut args = Vec::new();
    let mut span = kind.span();
    if input.peek(Token![<]) {
        input.parse::<Token![<]>()?;
        loop {
            if input.peek(Token![>]) {
                let close = input.parse::<Token![>]>()?;
                span = kind.span().join(close.span).unwrap_or(span);
                break;
            }
            args.push(parse_arg(input)?);
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            } else if !input.peek(Token![>]) {
                return Err(input.error("expected `,` or `>` in the layer's arguments"));
            }
        }
    }
    Ok((args, span))
}

/// `<const IN: usize, const STRIDE: usize = 1>` after a model's name.
pub(crate) fn parse_params(input: ParseStream) -> syn::Result<Vec<ParamDecl>> {
    if !input.peek(Token![<]) {
        return Ok(Vec::new());
    }
    let generics: syn::Generics = input.parse()?;
    let mut params = Vec::new();
    for p in &generics.params {
        let syn::GenericParam::Const(c) = p else {
            return Err(syn::Error::new(
                p.span(),
                "a model's parameters are sizes: `const IN: usize` (the backend `B` is added by `model!`)",
            ));
        };
        if !matches!(&c.ty, Type::Path(t) if t.path.is_ident("usize")) {
            return Err(syn::Error::new(
                c.ty.span(),
                format!("`{}`: a model's parameters are sizes, of type `usize`", c.ident),
            ));
        }
        let default = match &c.default {
            None => None,
            Some(Expr::Lit(syn::ExprLit { lit: Lit::Int(i), .. })) => Some(i.base10_parse()?),
            Some(other) => {
                return Err(syn::Error::new(
                    other.span(),
                    format!("`{}`: a parameter's default is an integer, e.g. `= 1`", c.ident),
                ));
            }
        };
        params.push(ParamDecl { name: c.ident.clone(), default });
    }
    Ok(params)
}

/// One argument: `784`, `p = 0.5`, `OUT * 4`.
fn parse_arg(input: ParseStream) -> syn::Result<Arg> {
    let mut name = None;
    if input.peek(Ident) && input.peek2(Token![=]) {
        name = Some(input.parse::<Ident>()?);
        input.parse::<Token![=]>()?;
    }
    let neg = if input.peek(Token![-]) { Some(input.parse::<Token![-]>()?) } else { None };
    let sign = if neg.is_some() { -1.0 } else { 1.0 };
    let (value, span) = if input.peek(Lit) {
        let lit: Lit = input.parse()?;
        let v = match &lit {
            Lit::Int(i) if neg.is_none() && SizeExpr::continues(input) => {
                let first = SizeExpr::Lit(i.base10_parse()?, i.span());
                ArgValue::Expr(SizeExpr::parse_after(first, input)?)
            }
            Lit::Int(i) if neg.is_none() => match i.base10_parse::<u64>() {
                Ok(v) => ArgValue::Int(v),
                Err(_) => ArgValue::Other(i.to_string()),
            },
            Lit::Int(i) => ArgValue::Float(sign * i.base10_parse::<f64>().unwrap_or(f64::NAN)),
            Lit::Float(f) => ArgValue::Float(sign * f.base10_parse::<f64>().unwrap_or(f64::NAN)),
            Lit::Bool(b) => ArgValue::Bool(b.value),
            Lit::Str(s) => ArgValue::Other(format!("\"{}\"", s.value())),
            other => ArgValue::Other(quote::quote!(#other).to_string()),
        };
        (v, lit.span())
    } else if input.peek(Ident) {
        let id: Ident = input.parse()?;
        let span = id.span();
        if SizeExpr::continues(input) {
            (ArgValue::Expr(SizeExpr::parse_after(SizeExpr::Param(id), input)?), span)
        } else {
            (ArgValue::Other(id.to_string()), span)
        }
    } else if input.peek(syn::token::Paren) && neg.is_none() {
        let e = SizeExpr::parse(input)?;
        let span = e.span();
        (ArgValue::Expr(e), span)
    } else if input.peek(Token![_]) {
        let u = input.parse::<Token![_]>()?;
        return Err(syn::Error::new(
            u.span,
            "`_`: a layer's sizes are written out (`Conv2d<64, 128, 3>`)\n  = help: to declare one block for several sizes, give the model parameters (`struct Block<const IN: usize, const OUT: usize>`), write `Conv2d<IN, OUT, 3>` here and `Block<64, 128>` where it is used",
        ));
    } else {
        return Err(input.error("expected a literal argument, e.g. `784`, `0.5` or `p = 0.5`"));
    };
    let span = match &name {
        Some(n) => n.span().join(span).unwrap_or(span),
        None => span,
    };
    Ok(Arg { name, value, span })
}
