//! Built-in layer kinds: their parameters, and the resolution of the user's arguments against them.

use proc_macro2::Span;
use syn::Type;

use super::parse::{ArgValue, KindDecl, ModelDef};

/// Parameter types a built-in layer takes.
#[derive(Clone, Copy, PartialEq)]
enum ParamTy {
    /// A size: an integer ≥ 1.
    Size,
    /// A real number.
    Real,
}

struct ParamSpec {
    name: &'static str,
    ty: ParamTy,
    /// `None`: required.
    default: Option<f64>,
}

struct KindSpec {
    name: &'static str,
    params: &'static [ParamSpec],
}

const fn size(name: &'static str) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Size, default: None }
}
const fn real(name: &'static str, default: f64) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Real, default: Some(default) }
}

const KINDS: &[KindSpec] = &[
    KindSpec { name: "Linear", params: &[size("in_features"), size("out_features")] },
    KindSpec { name: "Relu", params: &[] },
    KindSpec { name: "LeakyRelu", params: &[real("negative_slope", 0.01)] },
    KindSpec { name: "Sigmoid", params: &[] },
    KindSpec { name: "Tanh", params: &[] },
    KindSpec { name: "Gelu", params: &[] },
    KindSpec { name: "Softmax", params: &[] },
    KindSpec { name: "LogSoftmax", params: &[] },
    KindSpec { name: "Dropout", params: &[real("p", 0.5)] },
];

/// A layer after resolution: what the shape pass and the expansion need.
pub(crate) enum Resolved {
    Linear {
        input: (usize, Span),
        output: usize,
    },
    Activation(&'static str),
    LeakyRelu(f64),
    Dropout(f64),
    Softmax(&'static str),
    Custom(Type),
    /// Resolution failed (an error was recorded); the shape pass treats it as unknown.
    Invalid,
}

impl Resolved {
    /// How the summary table names the kind.
    pub fn describe(&self, decl: &KindDecl) -> String {
        match (self, decl) {
            (Resolved::Linear { input, output }, _) => format!("Linear<{}, {output}>", input.0),
            (Resolved::LeakyRelu(s), _) => format!("LeakyRelu<{s}>"),
            (Resolved::Dropout(p), _) => format!("Dropout<{p}>"),
            (Resolved::Activation(k) | Resolved::Softmax(k), _) => k.to_string(),
            (_, KindDecl::Custom(ty)) => quote::quote!(#ty)
                .to_string()
                .replace(" < ", "<")
                .replace(" >", ">")
                .replace(" ,", ","),
            _ => String::from("?"),
        }
    }
}

pub(crate) fn known_kinds() -> String {
    KINDS.iter().map(|k| format!("`{}`", k.name)).collect::<Vec<_>>().join(", ")
}

/// Resolves every layer; errors go to `errors`, and the layer becomes `Invalid`.
pub(crate) fn resolve(def: &ModelDef, errors: &mut Vec<syn::Error>) -> Vec<Resolved> {
    let mut seen: Vec<&syn::Ident> = Vec::new();
    for layer in &def.layers {
        if layer.name == "input" {
            errors.push(syn::Error::new(
                layer.name.span(),
                "`input` is reserved for the model's input shape",
            ));
        } else if let Some(first) = seen.iter().find(|n| **n == &layer.name) {
            let mut e = syn::Error::new(
                layer.name.span(),
                format!("duplicate layer name `{}`", layer.name),
            );
            e.combine(syn::Error::new(
                first.span(),
                format!("`{}` first declared here", layer.name),
            ));
            errors.push(e);
        }
        seen.push(&layer.name);
    }
    if def.layers.is_empty() {
        errors.push(syn::Error::new(
            def.body_span,
            format!(
                "model `{}` has no layers; add at least one, e.g. `fc: Linear<{}, 10>,`",
                def.name,
                def.input.dims.iter().map(|d| d.0).product::<usize>()
            ),
        ));
    }
    def.layers.iter().map(|l| resolve_one(&l.name, &l.kind, errors)).collect()
}

fn resolve_one(layer: &syn::Ident, decl: &KindDecl, errors: &mut Vec<syn::Error>) -> Resolved {
    let (kind, args, span) = match decl {
        KindDecl::Custom(ty) => return Resolved::Custom(ty.clone()),
        KindDecl::Builtin { kind, args, span } => (kind, args, *span),
    };
    let Some(spec) = KINDS.iter().find(|k| kind == k.name) else {
        errors.push(syn::Error::new(
            kind.span(),
            format!(
                "unknown layer kind `{kind}` for `{layer}`\n  = help: known kinds: {}\n  = help: for a layer of your own, write `#[custom] {layer}: YourType`",
                known_kinds()
            ),
        ));
        return Resolved::Invalid;
    };
    let mut values: Vec<Option<(f64, Span)>> = vec![None; spec.params.len()];
    let mut ok = true;
    let mut positional = 0usize;
    let param_list = || {
        if spec.params.is_empty() {
            format!("`{}` takes no arguments", spec.name)
        } else {
            format!(
                "`{}<{}>`",
                spec.name,
                spec.params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
            )
        }
    };
    for arg in args {
        let idx = match &arg.name {
            None => {
                let i = positional;
                positional += 1;
                if i >= spec.params.len() {
                    errors.push(syn::Error::new(
                        arg.span,
                        format!("too many arguments for `{layer}`: {}", param_list()),
                    ));
                    ok = false;
                    continue;
                }
                i
            }
            Some(name) => match spec.params.iter().position(|p| name == p.name) {
                Some(i) => i,
                None => {
                    errors.push(syn::Error::new(
                        name.span(),
                        format!(
                            "`{}` has no parameter `{name}`; it takes {}",
                            spec.name,
                            param_list()
                        ),
                    ));
                    ok = false;
                    continue;
                }
            },
        };
        let p = &spec.params[idx];
        if values[idx].is_some() {
            errors.push(syn::Error::new(
                arg.span,
                format!("`{}` is given twice for `{layer}`", p.name),
            ));
            ok = false;
            continue;
        }
        let v = match (&arg.value, p.ty) {
            (ArgValue::Int(v), ParamTy::Size) if *v >= 1 => *v as f64,
            (ArgValue::Int(v), ParamTy::Real) => *v as f64,
            (ArgValue::Float(v), ParamTy::Real) => *v,
            (other, ParamTy::Size) => {
                errors.push(syn::Error::new(
                    arg.span,
                    format!(
                        "`{}` of `{layer}` must be an integer ≥ 1, found {}",
                        p.name,
                        other.describe()
                    ),
                ));
                ok = false;
                continue;
            }
            (other, ParamTy::Real) => {
                errors.push(syn::Error::new(
                    arg.span,
                    format!(
                        "`{}` of `{layer}` must be a number, found {}",
                        p.name,
                        other.describe()
                    ),
                ));
                ok = false;
                continue;
            }
        };
        values[idx] = Some((v, arg.span));
    }
    for (p, v) in spec.params.iter().zip(values.iter_mut()) {
        if v.is_none() {
            match p.default {
                Some(d) => *v = Some((d, span)),
                None => {
                    errors.push(syn::Error::new(
                        span,
                        format!("`{layer}` is missing `{}`: write {}", p.name, param_list()),
                    ));
                    ok = false;
                }
            }
        }
    }
    if !ok {
        return Resolved::Invalid;
    }
    let get = |i: usize| values[i].unwrap_or((0.0, span));
    match spec.name {
        "Linear" => {
            let (i, ispan) = get(0);
            Resolved::Linear { input: (i as usize, ispan), output: get(1).0 as usize }
        }
        "LeakyRelu" => Resolved::LeakyRelu(get(0).0),
        "Dropout" => {
            let (p, pspan) = get(0);
            if !(0.0..1.0).contains(&p) {
                errors.push(syn::Error::new(
                    pspan,
                    format!("dropout probability `p` of `{layer}` must be in [0, 1), found {p}"),
                ));
                return Resolved::Invalid;
            }
            Resolved::Dropout(p)
        }
        "Softmax" => Resolved::Softmax("Softmax"),
        "LogSoftmax" => Resolved::Softmax("LogSoftmax"),
        other => {
            Resolved::Activation(KINDS.iter().find(|k| k.name == other).map_or("Relu", |k| k.name))
        }
    }
}
