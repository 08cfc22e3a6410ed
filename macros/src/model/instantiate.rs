//! Models with size parameters (`struct BasicBlock<const IN: usize, const OUT: usize>`):
//! each use (`BasicBlock<64, 128>`) builds the model at those sizes before lowering, as a
//! model of its own (`BasicBlock64x128`, shown as `BasicBlock<64, 128>` in every message).
//! Here the parameters are replaced by their values, arithmetic on them is evaluated, and the
//! layers whose `#[when(...)]` does not hold are dropped (what read them reads their input).
//! Constant arithmetic in models without parameters is evaluated here too.

use proc_macro2::Span;
use syn::Ident;

use super::parse::{Arg, ArgValue, BuildInfo, KindDecl, LayerDecl, ModelDef, SizeDecl};
use super::size_expr::{Env, eval_condition};

/// The block after building: the models to lower, in order (each built model before its first
/// user), and for each, what its errors should name.
pub(crate) struct Built {
    pub defs: Vec<ModelDef>,
    /// `= note:` text for errors found in each built model (`None` for a declared one).
    pub notes: Vec<Option<String>>,
    /// Models whose building failed: their later errors would repeat the first.
    pub poisoned: Vec<bool>,
    /// The parameterised models, for their type aliases.
    pub templates: Vec<Template>,
}

/// A parameterised model and the sizes it was built at.
pub(crate) struct Template {
    pub def: ModelDef,
    /// Each build: its parameter values and its struct's name.
    pub builds: Vec<(Vec<u64>, Ident)>,
    /// Whether a model of the block uses it (a use with wrong sizes builds nothing).
    pub used: bool,
}

/// Builds every use of a parameterised model in the block; errors go to `errors`.
pub(crate) fn build(defs: Vec<ModelDef>, errors: &mut Vec<syn::Error>) -> Built {
    let mut b =
        Built { defs: Vec::new(), notes: Vec::new(), poisoned: Vec::new(), templates: Vec::new() };
    for def in defs {
        if def.params.is_empty() {
            let before = errors.len();
            let mut def = substitute(def, &[], errors);
            let visible = b.templates.len();
            resolve_uses(&mut def, visible, &mut b, errors);
            b.poisoned.push(errors.len() > before);
            b.defs.push(def);
            b.notes.push(None);
        } else {
            b.templates.push(Template { def, builds: Vec::new(), used: false });
        }
    }
    for t in 0..b.templates.len() {
        let def = &b.templates[t].def;
        match def.params.iter().map(|p| p.default).collect::<Option<Vec<u64>>>() {
            // Every size has a default: the model on its own, too.
            Some(defaults) => {
                build_at(t, defaults, "built at its defaults", &mut b, errors);
            }
            None if b.templates[t].used => {}
            None => errors.push(syn::Error::new(
                def.name.span(),
                format!(
                    "`{}` has parameters but no model in this `model!` uses it; `model!` builds it at the sizes its uses give (`block: {}<{}>`), or at its parameters' defaults (`const C: usize = 64`)",
                    def.name,
                    def.name,
                    example_values(def)
                ),
            )),
        }
    }
    b
}

/// `64, 64` for a model with two parameters without defaults.
fn example_values(def: &ModelDef) -> String {
    def.params.iter().filter(|p| p.default.is_none()).map(|_| "64").collect::<Vec<_>>().join(", ")
}

/// The model's struct name at `values` (`BasicBlock64x128x2`).
fn built_name(def: &ModelDef, values: &[u64]) -> Ident {
    let tail: Vec<String> = values.iter().map(u64::to_string).collect();
    Ident::new(&format!("{}{}", def.name, tail.join("x")), def.name.span())
}

/// Template `t` built at `values` (once per distinct values); `why` says for what (`used by
/// `layer2` of `Net``). Returns the build's name.
fn build_at(
    t: usize,
    values: Vec<u64>,
    why: &str,
    b: &mut Built,
    errors: &mut Vec<syn::Error>,
) -> Ident {
    if let Some((_, name)) = b.templates[t].builds.iter().find(|(v, _)| *v == values) {
        return name.clone();
    }
    let template = b.templates[t].def.clone();
    let name = built_name(&template, &values);
    b.templates[t].builds.push((values.clone(), name.clone()));
    let shown_values: Vec<String> = values.iter().map(u64::to_string).collect();
    let shown = format!("{}<{}>", template.name, shown_values.join(", "));
    let bound: Vec<(Ident, u64)> =
        template.params.iter().map(|p| p.name.clone()).zip(values.iter().copied()).collect();
    let bindings: Vec<String> = bound.iter().map(|(p, v)| format!("{p} = {v}")).collect();
    let note = format!("in `{shown}` ({}), {why}", bindings.join(", "));
    let before = errors.len();
    let input_params = template.inputs[0]
        .1
        .dims
        .iter()
        .map(|(d, _)| match d {
            SizeDecl::Named(id) => template.params.iter().position(|p| p.name == *id),
            _ => None,
        })
        .collect();
    let template_name = template.name.to_string();
    let mut def = substitute(template, &bound, errors);
    def.build = Some(BuildInfo { template: template_name, values: values.clone(), input_params });
    def.name = name.clone();
    def.shown = shown;
    def.params.clear();
    // A model's uses see only the parameterised models declared before it.
    resolve_uses(&mut def, t, b, errors);
    for e in &mut errors[before..] {
        *e = syn::Error::new(e.span(), format!("{e}\n  = note: {note}"));
    }
    b.poisoned.push(errors.len() > before);
    b.defs.push(def);
    b.notes.push(Some(note));
    name
}

/// Replaces each use of one of the first `visible` parameterised models by the model built at
/// its sizes.
fn resolve_uses(def: &mut ModelDef, visible: usize, b: &mut Built, errors: &mut Vec<syn::Error>) {
    let shown = def.shown.clone();
    for layer in &mut def.layers {
        let used_by = format!("`{}` of `{shown}`", layer.name);
        match &mut layer.kind {
            KindDecl::Builtin { kind, args, span } => {
                if let Some(name) = use_of(kind, args, *span, visible, &used_by, b, errors) {
                    *kind = name;
                    args.clear();
                }
            }
            KindDecl::Sequence { items } => {
                for item in items {
                    let (kind, args) = (&mut item.kind, &mut item.args);
                    if let Some(name) = use_of(kind, args, item.span, visible, &used_by, b, errors)
                    {
                        *kind = name;
                        args.clear();
                    }
                }
            }
            KindDecl::Custom(..) => {}
        }
    }
}

/// The built model `kind<args>` names, when `kind` is a parameterised model.
fn use_of(
    kind: &Ident,
    args: &[Arg],
    span: Span,
    visible: usize,
    used_by: &str,
    b: &mut Built,
    errors: &mut Vec<syn::Error>,
) -> Option<Ident> {
    let t = b.templates.iter().position(|t| t.def.name == *kind)?;
    if t >= visible {
        errors.push(syn::Error::new(
            kind.span(),
            format!("{used_by} uses `{kind}`, which is declared after it in this `model!`; declare `{kind}` first"),
        ));
        return None;
    }
    b.templates[t].used = true;
    let values = bind(&b.templates[t].def, args, span, errors)?;
    let built = build_at(t, values, &format!("used by {used_by}"), b, errors);
    // Errors about the use point at the use.
    Some(Ident::new(&built.to_string(), kind.span()))
}

/// The parameter values a use gives: positional (`<64, 128>`) or by name (`<IN = 64>`), the
/// rest from defaults.
fn bind(
    def: &ModelDef,
    args: &[Arg],
    span: Span,
    errors: &mut Vec<syn::Error>,
) -> Option<Vec<u64>> {
    let params: Vec<String> = def.params.iter().map(|p| p.name.to_string()).collect();
    let signature = format!("{}<{}>", def.name, params.join(", "));
    let mut values: Vec<Option<u64>> = def.params.iter().map(|p| p.default).collect();
    let mut ok = true;
    for (k, a) in args.iter().enumerate() {
        let slot = match &a.name {
            Some(n) => match params.iter().position(|p| n == p) {
                Some(i) => i,
                None => {
                    errors.push(syn::Error::new(
                        a.span,
                        format!("`{n}` is not a parameter of `{signature}`"),
                    ));
                    ok = false;
                    continue;
                }
            },
            None if k < params.len() => k,
            None => {
                errors.push(syn::Error::new(
                    a.span,
                    format!(
                        "`{signature}` takes {} sizes, and this is size {}",
                        params.len(),
                        k + 1
                    ),
                ));
                ok = false;
                continue;
            }
        };
        match &a.value {
            ArgValue::Int(v) if *v > 0 => values[slot] = Some(*v),
            other => {
                errors.push(syn::Error::new(
                    a.span,
                    format!(
                        "`{}` of `{signature}` is a size (an integer ≥ 1), not {}",
                        params[slot],
                        other.describe()
                    ),
                ));
                ok = false;
            }
        }
    }
    let missing: Vec<&str> =
        params.iter().zip(&values).filter(|(_, v)| v.is_none()).map(|(p, _)| p.as_str()).collect();
    if !missing.is_empty() && ok {
        errors.push(syn::Error::new(
            span,
            format!(
                "`{}` is built at the sizes its use gives: write `{signature}` with numbers (missing: {})",
                def.name,
                missing.join(", ")
            ),
        ));
        return None;
    }
    if !ok {
        return None;
    }
    values.into_iter().collect()
}

/// `def` with its parameters replaced by `values`: sizes evaluated, layers whose `#[when]`
/// fails dropped.
fn substitute(
    mut def: ModelDef,
    values: &[(Ident, u64)],
    errors: &mut Vec<syn::Error>,
) -> ModelDef {
    let shown = def.shown.clone();
    let env = Env { model: &shown, values };
    for (_, input) in &mut def.inputs {
        for (d, span) in &mut input.dims {
            let value = match d {
                SizeDecl::Named(id) if values.iter().any(|(p, _)| p == id) => env.get(id),
                SizeDecl::Expr(e) => e.eval(&env),
                _ => continue,
            };
            match value {
                Ok(0) => errors.push(syn::Error::new(*span, "an input size must be at least 1")),
                Ok(v) => *d = SizeDecl::Fixed(v as usize),
                Err(e) => errors.push(e),
            }
        }
    }
    let values_of_def: Vec<String> = def
        .inputs
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(def.layers.iter().map(|l| l.name.to_string()))
        .collect();
    for layer in &mut def.layers {
        if let KindDecl::Builtin { kind, args, .. } = &mut layer.kind
            && reads_written_as_arguments(&layer.name, kind, args, &values_of_def, errors)
        {
            // Read as written in parentheses, so the rest of the model is checked as meant.
            let names = args.iter().map(|a| Ident::new(&arg_text(a), a.span)).collect();
            layer.inputs = Some(names);
            args.clear();
            continue;
        }
        match &mut layer.kind {
            KindDecl::Builtin { args, .. } => substitute_args(args, &env, errors),
            KindDecl::Sequence { items } => {
                for item in items {
                    substitute_args(&mut item.args, &env, errors);
                }
            }
            KindDecl::Custom(..) => {}
        }
    }
    drop_absent_layers(&mut def, &env, errors);
    def
}

fn arg_text(a: &Arg) -> String {
    match &a.value {
        ArgValue::Other(s) => s.clone(),
        _ => String::new(),
    }
}

/// `sum: Add<x, fc>`: values to read written as arguments. One error, with the edit.
fn reads_written_as_arguments(
    layer: &Ident,
    kind: &Ident,
    args: &[Arg],
    values: &[String],
    errors: &mut Vec<syn::Error>,
) -> bool {
    let names_values =
        |a: &Arg| a.name.is_none() && matches!(&a.value, ArgValue::Other(s) if values.contains(s));
    if args.is_empty() || !args.iter().all(names_values) {
        return false;
    }
    let read: Vec<String> = args.iter().map(arg_text).collect();
    let span = args[0].span;
    errors.push(syn::Error::new(
        span,
        format!(
            "`{layer}` ({kind}) reads the values in parentheses, not angle brackets\n  = help: write `{layer}: {kind}({})`",
            read.join(", ")
        ),
    ));
    true
}

fn substitute_args(args: &mut [Arg], env: &Env<'_>, errors: &mut Vec<syn::Error>) {
    for a in args {
        let value = match &a.value {
            // A name where a number goes: a parameter, else an error saying which exist.
            ArgValue::Other(name) if syn::parse_str::<Ident>(name).is_ok() => {
                env.get(&Ident::new(name, a.span))
            }
            ArgValue::Expr(e) => e.eval(env),
            _ => continue,
        };
        match value {
            Ok(v) => a.value = ArgValue::Int(v),
            Err(e) => errors.push(e),
        }
    }
}

/// Drops each layer whose `#[when(...)]` is false; the values that read it read its input.
fn drop_absent_layers(def: &mut ModelDef, env: &Env<'_>, errors: &mut Vec<syn::Error>) {
    let mut i = 0;
    while i < def.layers.len() {
        let Some(cond) = def.layers[i].when.take() else {
            i += 1;
            continue;
        };
        match eval_condition(&cond, env) {
            Ok(true) => i += 1,
            Err(e) => {
                errors.push(e);
                i += 1;
            }
            Ok(false) => {
                let removed: LayerDecl = def.layers.remove(i);
                let reads = match &removed.inputs {
                    Some(names) if names.len() == 1 => names[0].clone(),
                    Some(_) => {
                        errors.push(syn::Error::new(
                            removed.name.span(),
                            format!(
                                "`{}`: a layer under `#[when(...)]` reads one value (what reads it reads that value when it is left out)",
                                removed.name
                            ),
                        ));
                        continue;
                    }
                    None if i == 0 => def.inputs[0].0.clone(),
                    None => def.layers[i - 1].name.clone(),
                };
                if let Some(next) = def.layers.get_mut(i)
                    && next.inputs.is_none()
                {
                    next.inputs = Some(vec![reads.clone()]);
                }
                def.rename_reads(i, &removed.name, &reads);
            }
        }
    }
}
