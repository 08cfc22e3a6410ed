//! Built-in layer kinds: their parameters, and the resolution of the user's arguments against them.

use proc_macro2::Span;
use syn::Type;

use super::parse::{ArgValue, KindDecl, ModelDef};

/// Parameter types a built-in layer takes.
#[derive(Clone, Copy, PartialEq)]
enum ParamTy {
    /// A size: an integer ≥ 1.
    Size,
    /// A count: an integer ≥ 0 (padding).
    Count,
    /// A real number.
    Real,
}

#[derive(Clone, Copy)]
enum Default {
    Required,
    Value(f64),
    /// A pool's stride defaults to its kernel size (parameter 0).
    SameAsKernel,
}

struct ParamSpec {
    name: &'static str,
    ty: ParamTy,
    default: Default,
}

struct KindSpec {
    name: &'static str,
    params: &'static [ParamSpec],
}

const fn size(name: &'static str) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Size, default: Default::Required }
}
const fn size_or(name: &'static str, default: f64) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Size, default: Default::Value(default) }
}
const fn count_or(name: &'static str, default: f64) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Count, default: Default::Value(default) }
}
const fn real(name: &'static str, default: f64) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Real, default: Default::Value(default) }
}
const STRIDE_AS_KERNEL: ParamSpec =
    ParamSpec { name: "stride", ty: ParamTy::Size, default: Default::SameAsKernel };

const CONV: &[ParamSpec] = &[
    size("in_channels"),
    size("out_channels"),
    size("kernel_size"),
    size_or("stride", 1.0),
    count_or("padding", 0.0),
    size_or("dilation", 1.0),
];
const POOL: &[ParamSpec] = &[size("kernel_size"), STRIDE_AS_KERNEL, count_or("padding", 0.0)];
const NORM: &[ParamSpec] = &[size("num_features"), real("eps", 1e-5), real("momentum", 0.1)];

const KINDS: &[KindSpec] = &[
    KindSpec { name: "Linear", params: &[size("in_features"), size("out_features")] },
    KindSpec { name: "Conv2d", params: CONV },
    KindSpec { name: "Conv1d", params: CONV },
    KindSpec { name: "MaxPool2d", params: POOL },
    KindSpec { name: "AvgPool2d", params: POOL },
    KindSpec { name: "GlobalAvgPool2d", params: &[] },
    KindSpec { name: "Flatten", params: &[] },
    KindSpec { name: "BatchNorm1d", params: NORM },
    KindSpec { name: "BatchNorm2d", params: NORM },
    KindSpec { name: "Dropout2d", params: &[real("p", 0.5)] },
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
    /// Conv1d (`two_d == false`) or Conv2d.
    Conv {
        two_d: bool,
        input: (usize, Span),
        output: usize,
        kernel: (usize, Span),
        stride: usize,
        padding: usize,
        dilation: usize,
    },
    /// MaxPool2d (`max == true`) or AvgPool2d.
    Pool {
        max: bool,
        kernel: (usize, Span),
        stride: usize,
        padding: (usize, Span),
    },
    GlobalAvgPool,
    Flatten,
    BatchNorm {
        two_d: bool,
        features: (usize, Span),
        eps: f64,
        momentum: f64,
    },
    Dropout2d(f64),
    Activation(&'static str),
    LeakyRelu(f64),
    Dropout(f64),
    Softmax(&'static str),
    /// A user layer and, when stated with `#[custom(output = [...])]`, its per-sample output.
    Custom(Type, Option<Vec<usize>>),
    /// Resolution failed (an error was recorded); the shape pass treats it as unknown.
    Invalid,
}

impl Resolved {
    /// How the summary table names the kind.
    pub fn describe(&self, decl: &KindDecl) -> String {
        match (self, decl) {
            (Resolved::Linear { input, output }, _) => format!("Linear<{}, {output}>", input.0),
            (Resolved::Conv { two_d, input, output, kernel, stride, padding, dilation }, _) => {
                let mut s = format!(
                    "Conv{}d<{}, {output}, {}",
                    if *two_d { 2 } else { 1 },
                    input.0,
                    kernel.0
                );
                for (name, v, d) in
                    [("stride", *stride, 1), ("padding", *padding, 0), ("dilation", *dilation, 1)]
                {
                    if v != d {
                        s.push_str(&format!(", {name} = {v}"));
                    }
                }
                s + ">"
            }
            (Resolved::Pool { max, kernel, stride, padding }, _) => {
                let mut s = format!("{}Pool2d<{}", if *max { "Max" } else { "Avg" }, kernel.0);
                if *stride != kernel.0 {
                    s.push_str(&format!(", stride = {stride}"));
                }
                if padding.0 != 0 {
                    s.push_str(&format!(", padding = {}", padding.0));
                }
                s + ">"
            }
            (Resolved::GlobalAvgPool, _) => "GlobalAvgPool2d".to_string(),
            (Resolved::Flatten, _) => "Flatten".to_string(),
            (Resolved::BatchNorm { two_d, features, .. }, _) => {
                format!("BatchNorm{}d<{}>", if *two_d { 2 } else { 1 }, features.0)
            }
            (Resolved::Dropout2d(p), _) => format!("Dropout2d<{p}>"),
            (Resolved::LeakyRelu(s), _) => format!("LeakyRelu<{s}>"),
            (Resolved::Dropout(p), _) => format!("Dropout<{p}>"),
            (Resolved::Activation(k) | Resolved::Softmax(k), _) => k.to_string(),
            (_, KindDecl::Custom(ty, _)) => quote::quote!(#ty)
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
        KindDecl::Custom(ty, out) => {
            let out = out.as_ref().map(|o| o.dims.iter().map(|d| d.0).collect());
            return Resolved::Custom(ty.clone(), out);
        }
        KindDecl::Builtin { kind, args, span } => (kind, args, *span),
    };
    let Some(spec) = KINDS.iter().find(|k| kind == k.name) else {
        errors.push(syn::Error::new(
            kind.span(),
            format!(
                "unknown layer kind `{kind}` for `{layer}`\n  = help: known kinds: {}\n  = help: for a layer of your own, write `#[custom(output = [...])] {layer}: YourType<B>`",
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
            (ArgValue::Int(v), ParamTy::Count) => *v as f64,
            (other, ParamTy::Count) => {
                errors.push(syn::Error::new(
                    arg.span,
                    format!(
                        "`{}` of `{layer}` must be an integer ≥ 0, found {}",
                        p.name,
                        other.describe()
                    ),
                ));
                ok = false;
                continue;
            }
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
    let first = values.first().copied().flatten();
    for (p, v) in spec.params.iter().zip(values.iter_mut()) {
        if v.is_none() {
            match p.default {
                Default::Value(d) => *v = Some((d, span)),
                Default::SameAsKernel => *v = first.or(Some((1.0, span))),
                Default::Required => {
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
        "Conv2d" | "Conv1d" => Resolved::Conv {
            two_d: spec.name == "Conv2d",
            input: (get(0).0 as usize, get(0).1),
            output: get(1).0 as usize,
            kernel: (get(2).0 as usize, get(2).1),
            stride: get(3).0 as usize,
            padding: get(4).0 as usize,
            dilation: get(5).0 as usize,
        },
        "MaxPool2d" | "AvgPool2d" => Resolved::Pool {
            max: spec.name == "MaxPool2d",
            kernel: (get(0).0 as usize, get(0).1),
            stride: get(1).0 as usize,
            padding: (get(2).0 as usize, get(2).1),
        },
        "GlobalAvgPool2d" => Resolved::GlobalAvgPool,
        "Flatten" => Resolved::Flatten,
        "BatchNorm1d" | "BatchNorm2d" => Resolved::BatchNorm {
            two_d: spec.name == "BatchNorm2d",
            features: (get(0).0 as usize, get(0).1),
            eps: get(1).0,
            momentum: get(2).0,
        },
        "Dropout2d" => {
            let (p, pspan) = get(0);
            if !(0.0..1.0).contains(&p) {
                errors.push(syn::Error::new(
                    pspan,
                    format!("dropout probability `p` of `{layer}` must be in [0, 1), found {p}"),
                ));
                return Resolved::Invalid;
            }
            Resolved::Dropout2d(p)
        }
        "Softmax" => Resolved::Softmax("Softmax"),
        "LogSoftmax" => Resolved::Softmax("LogSoftmax"),
        other => {
            Resolved::Activation(KINDS.iter().find(|k| k.name == other).map_or("Relu", |k| k.name))
        }
    }
}
