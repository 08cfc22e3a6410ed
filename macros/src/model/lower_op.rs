//! Resolving one layer's kind: a built-in kind with its arguments, a model of the block (one,
//! or a sequence), or a user layer; every error spanned and collected.

use syn::Ident;

use super::args;
use super::ir::Op;
use super::kinds::{self, Build};
use super::parse::{KindDecl, ModelDef, SizeDecl};

/// The models of the block, as a layer's kind resolves against them.
pub(crate) struct Models<'a> {
    pub def: &'a ModelDef,
    /// The models declared before this one: struct names and how messages name them.
    pub earlier: &'a [(Ident, String)],
    pub later: &'a [Ident],
}

impl Models<'_> {
    /// The model named `name`, declared above the one being lowered; an error otherwise.
    fn resolve(&self, layer: &Ident, name: &Ident, errors: &mut Vec<syn::Error>) -> Option<usize> {
        if let Some(i) = self.earlier.iter().position(|(m, _)| m == name) {
            return Some(i);
        }
        let model = &self.def.shown;
        let msg = if name == model {
            format!("`{layer}` uses `{model}` inside itself; a model cannot contain itself")
        } else if self.later.contains(name) {
            format!(
                "`{layer}` uses the model `{name}`, which is declared after `{model}` in this `model!`; declare `{name}` first"
            )
        } else {
            format!(
                "`{layer}`: a sequence lists models declared above `{model}` in the same `model!` block, and `{name}` is not one"
            )
        };
        errors.push(syn::Error::new(name.span(), msg));
        None
    }
}

/// A model without parameters given some.
fn no_arguments(layer: &Ident, kind: &Ident, span: proc_macro2::Span) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "`{layer}`: the model `{kind}` takes no arguments; its layers are declared in `{kind}`\n  = help: to build `{kind}` at sizes its uses give, declare them: `struct {kind}<const C: usize>`, and write `C` where its layers need it"
        ),
    )
}

/// Resolves one layer's kind and arguments.
pub(crate) fn lower_op(
    layer: &Ident,
    decl: &KindDecl,
    models: &Models<'_>,
    errors: &mut Vec<syn::Error>,
) -> Op {
    if let KindDecl::Sequence { items } = decl {
        let resolved: Vec<Option<(usize, Ident, String)>> = items
            .iter()
            .map(|it| {
                let i = models.resolve(layer, &it.kind, errors)?;
                if let Some(a) = it.args.first() {
                    errors.push(no_arguments(layer, &it.kind, a.span));
                    return None;
                }
                Some((i, it.kind.clone(), models.earlier[i].1.clone()))
            })
            .collect();
        return match resolved.into_iter().collect::<Option<Vec<_>>>() {
            Some(models) => Op::Model { models, sequence: true },
            None => Op::Invalid,
        };
    }
    if let KindDecl::Builtin { kind, args, .. } = decl
        && kinds::lookup(kind).is_none()
        && (models.earlier.iter().any(|(m, _)| m == kind)
            || models.later.contains(kind)
            || *kind == models.def.name)
    {
        let Some(index) = models.resolve(layer, kind, errors) else { return Op::Invalid };
        if let Some(a) = args.first() {
            errors.push(no_arguments(layer, kind, a.span));
            return Op::Invalid;
        }
        let shown = models.earlier[index].1.clone();
        return Op::Model { models: vec![(index, kind.clone(), shown)], sequence: false };
    }
    let (kind, args, span) = match decl {
        KindDecl::Sequence { .. } => return Op::Invalid,
        KindDecl::Custom(ty, out) => {
            let stated = out.as_ref().and_then(|o| {
                o.dims
                    .iter()
                    .map(|(d, s)| match d {
                        SizeDecl::Fixed(n) => Some(*n),
                        SizeDecl::Named(id) => {
                            errors.push(syn::Error::new(
                                *s,
                                format!("`{id}`: a custom layer's stated output sizes are integer literals"),
                            ));
                            None
                        }
                        SizeDecl::Any | SizeDecl::Expr(_) => {
                            errors.push(syn::Error::new(
                                *s,
                                "a custom layer's stated output sizes are integer literals",
                            ));
                            None
                        }
                    })
                    .collect::<Option<Vec<usize>>>()
            });
            return Op::Custom { ty: ty.clone(), stated };
        }
        KindDecl::Builtin { kind, args, span } => (kind, args, *span),
    };
    let Some(def) = kinds::lookup(kind) else {
        let earlier: Vec<String> = models.earlier.iter().map(|(m, _)| m.to_string()).collect();
        let names: Vec<&str> = kinds::REGISTRY
            .iter()
            .map(|k| k.name)
            .chain(earlier.iter().map(String::as_str))
            .collect();
        let aliases: &[(&str, &str)] = &[("Dense", "Linear"), ("ReLU", "Relu"), ("GELU", "Gelu")];
        // A near miss of a built-in kind is that kind; otherwise list them, and say how a
        // model or layer of the user's own is written.
        let known = match args::suggest(&kind.to_string(), &names, aliases) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "known kinds: {}\n  = help: for a model of your own, declare it above this one in the same `model!`; for a layer of your own, write `#[custom(output = [...])] {layer}: YourType<B>`",
                kinds::known_kinds()
            ),
        };
        errors.push(syn::Error::new(
            kind.span(),
            format!("unknown layer kind `{kind}` for `{layer}`\n  = help: {known}"),
        ));
        return Op::Invalid;
    };
    let Some(args) = args::resolve(layer, def.name, def.params, args, span, errors) else {
        return Op::Invalid;
    };
    match (def.build)(&Build { layer, args }, errors) {
        Some(k) => Op::Builtin(k),
        None => Op::Invalid,
    }
}
