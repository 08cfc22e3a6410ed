//! Generic argument resolution: the user's `Kind<args>` (positional or named) against a kind's
//! parameter list, with defaults, types and every error spanned and collected.

use proc_macro2::Span;
use syn::Ident;

use super::parse::{Arg, ArgValue};

/// What a parameter accepts.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum ParamTy {
    /// A size: an integer ≥ 1.
    Size,
    /// A count: an integer ≥ 0 (padding).
    Count,
    /// A real number.
    Real,
    /// `true` or `false`.
    Flag,
}

/// A parameter's default.
#[derive(Clone, Copy)]
pub(crate) enum Default {
    /// The user must give it.
    Required,
    /// A number (sizes, counts, reals) or 0/1 for flags.
    Value(f64),
    /// The value of an earlier parameter (a pool's stride defaults to its kernel size).
    SameAs(usize),
}

/// One parameter of a kind, as PyTorch names it.
pub(crate) struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamTy,
    pub default: Default,
}

/// A required size.
pub(crate) const fn size(name: &'static str) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Size, default: Default::Required }
}
/// A size with a default.
pub(crate) const fn size_or(name: &'static str, default: f64) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Size, default: Default::Value(default) }
}
/// A count (≥ 0) with a default.
pub(crate) const fn count_or(name: &'static str, default: f64) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Count, default: Default::Value(default) }
}
/// A real number with a default.
pub(crate) const fn real(name: &'static str, default: f64) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Real, default: Default::Value(default) }
}
/// A flag with a default.
pub(crate) const fn flag(name: &'static str, default: bool) -> ParamSpec {
    ParamSpec { name, ty: ParamTy::Flag, default: Default::Value(if default { 1.0 } else { 0.0 }) }
}

/// Resolved argument values, one per parameter in the kind's order, each with the span of what
/// the user wrote (the kind's span for defaults).
pub(crate) struct Args {
    values: Vec<(f64, Span)>,
}

impl Args {
    /// Parameter `i` as a size or count.
    pub fn size(&self, i: usize) -> usize {
        self.values.get(i).map_or(0, |v| v.0 as usize)
    }
    /// Parameter `i` as a real number.
    pub fn real(&self, i: usize) -> f64 {
        self.values.get(i).map_or(0.0, |v| v.0)
    }
    /// Parameter `i` as a flag.
    pub fn flag(&self, i: usize) -> bool {
        self.values.get(i).is_some_and(|v| v.0 != 0.0)
    }
    /// Where parameter `i` was written.
    pub fn span(&self, i: usize) -> Span {
        self.values.get(i).map_or_else(Span::call_site, |v| v.1)
    }
    /// Parameter `i` as a size with its span.
    pub fn spanned(&self, i: usize) -> (usize, Span) {
        (self.size(i), self.span(i))
    }
}

/// "`Conv2d<in_channels, out_channels, …, bias = true>`" or "`Relu` takes no arguments"; flags
/// are named only, so they are shown with their default.
fn param_list(kind: &str, params: &[ParamSpec]) -> String {
    if params.is_empty() {
        format!("`{kind}` takes no arguments")
    } else {
        let names: Vec<String> = params
            .iter()
            .map(|p| match (p.ty, p.default) {
                (ParamTy::Flag, Default::Value(v)) => format!("{} = {}", p.name, v != 0.0),
                _ => p.name.to_string(),
            })
            .collect();
        format!("`{kind}<{}>`", names.join(", "))
    }
}

/// The value of one argument for parameter `p`, or the error message.
fn value_of(arg: &ArgValue, p: &ParamSpec, layer: &Ident) -> Result<f64, String> {
    match (arg, p.ty) {
        (ArgValue::Int(v), ParamTy::Size) if *v >= 1 => Ok(*v as f64),
        (ArgValue::Int(v), ParamTy::Count) => Ok(*v as f64),
        (ArgValue::Int(v), ParamTy::Real) => Ok(*v as f64),
        (ArgValue::Float(v), ParamTy::Real) => Ok(*v),
        (ArgValue::Bool(b), ParamTy::Flag) => Ok(if *b { 1.0 } else { 0.0 }),
        (other, ty) => {
            let want = match ty {
                ParamTy::Size => "an integer ≥ 1",
                ParamTy::Count => "an integer ≥ 0",
                ParamTy::Real => "a number",
                ParamTy::Flag => "`true` or `false`",
            };
            Err(format!("`{}` of `{layer}` must be {want}, found {}", p.name, other.describe()))
        }
    }
}

/// Resolves `args` against `params` for layer `layer` of kind `kind` (written at `span`);
/// `None` after recording at least one error.
pub(crate) fn resolve(
    layer: &Ident,
    kind: &str,
    params: &[ParamSpec],
    args: &[Arg],
    span: Span,
    errors: &mut Vec<syn::Error>,
) -> Option<Args> {
    let mut values: Vec<Option<(f64, Span)>> = vec![None; params.len()];
    let mut ok = true;
    let mut positional = 0usize;
    let mut fail = |span: Span, msg: String| {
        errors.push(syn::Error::new(span, msg));
        false
    };
    for arg in args {
        let idx = match &arg.name {
            // Positional arguments fill the parameters in order, flags excepted (`bias = false`
            // is always named).
            None => {
                positional += 1;
                let slots: Vec<usize> =
                    (0..params.len()).filter(|&i| params[i].ty != ParamTy::Flag).collect();
                match slots.get(positional - 1) {
                    Some(&i) => i,
                    None => {
                        let msg = format!(
                            "too many arguments for `{layer}`: {}",
                            param_list(kind, params)
                        );
                        ok = fail(arg.span, msg);
                        continue;
                    }
                }
            }
            Some(name) => match params.iter().position(|p| name == p.name) {
                Some(i) => i,
                None => {
                    let names: Vec<&str> = params.iter().map(|p| p.name).collect();
                    let meant = suggest(&name.to_string(), &names, PARAM_ALIASES);
                    // The value was meant for that parameter: not reported again as missing.
                    if let Some(i) = meant.and_then(|m| names.iter().position(|n| *n == m))
                        && values[i].is_none()
                    {
                        values[i] = Some((0.0, arg.span));
                    }
                    let hint = meant
                        .map(|s| format!("\n  = help: did you mean `{s}`?"))
                        .unwrap_or_default();
                    let msg = format!(
                        "`{kind}` has no parameter `{name}`; it takes {}{hint}",
                        param_list(kind, params)
                    );
                    ok = fail(name.span(), msg);
                    continue;
                }
            },
        };
        let p = &params[idx];
        if values[idx].is_some() {
            ok = fail(arg.span, format!("`{}` is given twice for `{layer}`", p.name));
            continue;
        }
        match value_of(&arg.value, p, layer) {
            Ok(v) => values[idx] = Some((v, arg.span)),
            Err(msg) => {
                // Given, though wrong: reported once, not again as missing.
                values[idx] = Some((0.0, arg.span));
                ok = fail(arg.span, msg);
            }
        }
    }
    for i in 0..params.len() {
        if values[i].is_some() {
            continue;
        }
        match params[i].default {
            Default::Value(d) => values[i] = Some((d, span)),
            Default::SameAs(j) => values[i] = values[j].or(Some((1.0, span))),
            Default::Required => {
                let msg = format!(
                    "`{layer}` is missing `{}`: write {}",
                    params[i].name,
                    param_list(kind, params)
                );
                ok = fail(span, msg);
            }
        }
    }
    ok.then(|| Args { values: values.into_iter().map(|v| v.unwrap_or((0.0, span))).collect() })
}

/// Other frameworks' names for our parameters (Keras, TensorFlow), for "did you mean".
const PARAM_ALIASES: &[(&str, &str)] = &[
    ("units", "out_features"),
    ("filters", "out_channels"),
    ("kernel", "kernel_size"),
    ("strides", "stride"),
    ("pool_size", "kernel_size"),
    ("rate", "p"),
    ("alpha", "negative_slope"),
    ("epsilon", "eps"),
    ("use_bias", "bias"),
];

/// Edit distance (insertions, deletions, substitutions), for near misses.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut prev = row[0];
        row[0] = i;
        for j in 1..=b.len() {
            let cur = row[j];
            row[j] = (prev + usize::from(a[i - 1] != b[j - 1])).min(row[j] + 1).min(row[j - 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The candidate `word` most likely meant: an alias, the same word in another case, or one at
/// most two edits away (and closer than half its length).
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: &[&'a str],
    aliases: &[(&str, &'a str)],
) -> Option<&'a str> {
    if let Some((_, to)) =
        aliases.iter().find(|(from, to)| *from == word && candidates.contains(to))
    {
        return Some(to);
    }
    let lower = word.to_lowercase();
    if let Some(c) = candidates.iter().find(|c| c.to_lowercase() == lower) {
        return Some(c);
    }
    candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_lowercase()), *c))
        .filter(|&(d, _)| d <= 2 && 2 * d < word.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}
