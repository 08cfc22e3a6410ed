//! Parsing the `model!` body into an IR that keeps the user's tokens (for spans and messages).

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Token, Type, Visibility, braced, bracketed};

use super::parse_args::{parse_kind_args, parse_params};
use super::size_expr::SizeExpr;

/// The whole declaration.
#[derive(Clone)]
pub(crate) struct ModelDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// `<const IN: usize, const OUT: usize>`: sizes given where the model is used; `model!`
    /// builds it once per distinct set of values (`BasicBlock<64, 128, 2>`).
    pub params: Vec<ParamDecl>,
    /// How messages name the model: `BasicBlock`, or `BasicBlock<64, 128, 2>` where it is
    /// built at those sizes.
    pub shown: String,
    /// For a model built from a parameterised one: which build, for helps that change it.
    pub build: Option<BuildInfo>,
    /// The inputs, in order: each `input x: [...]` line's name (`input` when unnamed) and
    /// per-sample shape.
    pub inputs: Vec<(Ident, InputDecl)>,
    pub layers: Vec<LayerDecl>,
    /// `output (a, b)` (or `output a`) after the layers: the values the model returns, in order;
    /// by default its last layer.
    pub output: Option<OutputDecl>,
    /// The closing brace, where "empty model" errors point.
    pub body_span: Span,
}

/// A parameterised model's build: the declaration's name, its parameters' values, and which
/// parameter each size of the first input is (`[IN, _, _]`: `IN` for the first).
#[derive(Clone)]
pub(crate) struct BuildInfo {
    pub template: String,
    pub values: Vec<u64>,
    pub input_params: Vec<Option<usize>>,
}

impl ModelDef {
    /// Makes the layers from index `from` on, and the `output` line, read `new` where they
    /// read `old` (a layer left out, or unfolded into several).
    pub fn rename_reads(&mut self, from: usize, old: &Ident, new: &Ident) {
        let rename = |n: &mut Ident| {
            if n == old {
                *n = Ident::new(&new.to_string(), n.span());
            }
        };
        for later in &mut self.layers[from..] {
            later.inputs.iter_mut().flatten().for_each(rename);
        }
        if let Some(out) = &mut self.output {
            out.names.iter_mut().for_each(rename);
        }
    }
}

/// `const STRIDE: usize = 1`: a size parameter and its default.
#[derive(Clone)]
pub(crate) struct ParamDecl {
    pub name: Ident,
    pub default: Option<u64>,
}

/// `output (cls, boxes)`: the names and where the line starts.
#[derive(Clone)]
pub(crate) struct OutputDecl {
    pub keyword: Span,
    pub names: Vec<Ident>,
}

/// `input: [1, 28, 28]`: per-sample sizes; the batch dimension is added.
#[derive(Clone)]
pub(crate) struct InputDecl {
    pub dims: Vec<(SizeDecl, Span)>,
}

/// One size as written: an integer literal, a name (a runtime size such as `seq`), or `_` (a
/// model used inside another takes any size there: `input x: [32, _, _]`).
#[derive(Clone)]
pub(crate) enum SizeDecl {
    Fixed(usize),
    Named(Ident),
    Any,
    /// `IN * 2`: arithmetic on a model's parameters, evaluated where it is built.
    Expr(SizeExpr),
}

/// Every model of one `model!` block, in order: a model may use the ones declared before it as
/// nodes (`block: BasicBlock`).
pub(crate) struct ModelDefs(pub Vec<ModelDef>);

impl Parse for ModelDefs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut defs = vec![input.parse::<ModelDef>()?];
        while !input.is_empty() {
            defs.push(input.parse::<ModelDef>()?);
        }
        Ok(ModelDefs(defs))
    }
}

/// One `name: Kind<args>` line.
#[derive(Clone)]
pub(crate) struct LayerDecl {
    pub docs: Vec<Attribute>,
    pub name: Ident,
    pub kind: KindDecl,
    /// `(x, c2)` after the kind: the values the node reads (by default the node before it).
    pub inputs: Option<Vec<Ident>>,
    /// `#[when(STRIDE != 1)]`: the layer exists only where the condition holds; elsewhere
    /// the values that read it read its input.
    pub when: Option<Expr>,
    /// The layer's name in parameter paths, where it differs from its field's
    /// (`downsample.0` for the first layer of `downsample: (Conv2d<…>, BatchNorm2d<…>)`).
    pub param_name: Option<String>,
}

/// One entry of a sequence node: a model (`BasicBlock<64, 128, 2>`) or a built-in layer.
#[derive(Clone)]
pub(crate) struct SeqItem {
    pub kind: Ident,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Clone)]
pub(crate) enum KindDecl {
    /// A built-in layer, a model declared above in the same block, another use of an earlier
    /// layer, or an unknown name (reported by validation).
    Builtin { kind: Ident, args: Vec<Arg>, span: Span },
    /// `(BasicBlock, BasicBlock)`: models declared above or built-in layers, applied in order
    /// (PyTorch's `nn.Sequential`; parameters named `layer1.0.…`).
    Sequence { items: Vec<SeqItem> },
    /// `#[custom] name: Type` or `#[custom(output = [16, 8, 8])] name: Type`: a user layer.
    /// With its output stated, `model!` checks the layers after it in decimal too (and the
    /// type system checks the statement); without, the shapes after it are the type system's.
    Custom(Box<Type>, Option<InputDecl>),
}

/// One argument: positional (`784`) or named (`p = 0.5`).
#[derive(Clone)]
pub(crate) struct Arg {
    pub name: Option<Ident>,
    pub value: ArgValue,
    pub span: Span,
}

#[derive(Clone)]
pub(crate) enum ArgValue {
    Int(u64),
    Float(f64),
    Bool(bool),
    /// Anything else (a string, an identifier): kept for the error message.
    Other(String),
    /// `OUT * 4`: arithmetic on a model's parameters, evaluated where it is built.
    Expr(SizeExpr),
}

impl ArgValue {
    pub fn describe(&self) -> String {
        match self {
            ArgValue::Int(v) => format!("the integer {v}"),
            ArgValue::Float(v) => format!("the number {v:?}"),
            ArgValue::Bool(v) => format!("`{v}`"),
            ArgValue::Other(s) => format!("`{s}`"),
            ArgValue::Expr(e) => format!("`{}`", e.text()),
        }
    }
}

/// What `model!` implements itself, and what that impl does: a `#[derive]` of one of them on
/// the model would conflict with it (rustc's E0119, which does not say which impl to drop).
const GENERATED: &[(&str, &str)] = &[
    ("Debug", "it prints the architecture, as PyTorch's `print(model)` does"),
    ("Module", "its parameters under PyTorch's `state_dict` names"),
    ("Init", "each layer initialised as PyTorch's, through `new(&device, seed)`"),
];

/// An error for each derive of a trait `model!` implements itself.
fn check_derives(attrs: &[Attribute], model: &Ident) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let paths = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, Token![,]>::parse_terminated,
        )?;
        for path in paths {
            let Some(last) = path.segments.last() else { continue };
            let Some((name, what)) = GENERATED.iter().find(|(n, _)| last.ident == n) else {
                continue;
            };
            let e = syn::Error::new_spanned(
                &path,
                format!(
                    "`model!` implements `{name}` for `{model}` itself ({what}): remove `{name}` from this `derive`"
                ),
            );
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

impl Parse for ModelDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>().map_err(|e| {
            syn::Error::new(e.span(), "expected `struct Name { input: [...], layer: Kind, ... }`")
        })?;
        let name: Ident = input.parse()?;
        check_derives(&attrs, &name)?;
        let params = parse_params(input)?;
        let body;
        let brace = braced!(body in input);
        let body_span = brace.span.close();
        if !input.is_empty()
            && !input.peek(Token![struct])
            && !input.peek(Token![pub])
            && !input.peek(Token![#])
        {
            return Err(input.error(
                "unexpected tokens after the model's closing brace; a `model!` block holds models (`struct Name { ... }`), one after another",
            ));
        }
        let first_attrs = body.call(Attribute::parse_outer)?;
        let key: Ident = body.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "a model starts with its per-sample input shape, e.g. `input: [784],`",
            )
        })?;
        if key != "input" {
            return Err(syn::Error::new(
                key.span(),
                format!(
                    "a model starts with its per-sample input shape, e.g. `input: [784],`, not `{key}`"
                ),
            ));
        }
        if let Some(a) = first_attrs.first() {
            return Err(syn::Error::new(
                a.span(),
                "attributes on `input` are not supported: document the model on its struct, and each layer on its own line",
            ));
        }
        let input_name = if body.peek(Ident) { body.parse::<Ident>()? } else { key.clone() };
        body.parse::<Token![:]>()?;
        let mut inputs = vec![(input_name, parse_input(&body)?)];
        let mut layers = Vec::new();
        let mut output: Option<OutputDecl> = None;
        while !body.is_empty() {
            body.parse::<Token![,]>()?;
            if body.is_empty() {
                break;
            }
            if let Some(out) = &output {
                let mut e = body.error("`output` ends the model: declare the layers above it");
                e.combine(syn::Error::new(out.keyword, "the model's outputs are declared here"));
                return Err(e);
            }
            let keyword = body.fork().parse::<Ident>().ok();
            if keyword.as_ref().is_some_and(|k| k == "input") && body.peek2(Token![:]) {
                let kw: Ident = body.fork().parse()?;
                let first = &inputs[0].0;
                return Err(syn::Error::new(
                    kw.span(),
                    format!(
                        "a model with several inputs names each one: `input {}: [...]`, then `input b: [...]` (a layer reads them by name: `fc: Linear<…>(b)`)",
                        if first == "input" { "a" } else { "b" }
                    ),
                ));
            }
            let is =
                |word: &str| keyword.as_ref().is_some_and(|k| k == word) && !body.peek2(Token![:]);
            if is("input") {
                let kw: Ident = body.parse()?;
                if !layers.is_empty() {
                    return Err(syn::Error::new(
                        kw.span(),
                        "declare every input before the first layer (`input a: [...], input b: [...], fc: ...`)",
                    ));
                }
                let name: Ident = body.parse().map_err(|e| {
                    syn::Error::new(e.span(), "a second input needs a name: `input b: [...]`")
                })?;
                body.parse::<Token![:]>()?;
                inputs.push((name, parse_input(&body)?));
                continue;
            }
            if is("output") {
                let kw: Ident = body.parse()?;
                let names = if body.peek(syn::token::Paren) {
                    let content;
                    syn::parenthesized!(content in body);
                    content.parse_terminated(Ident::parse, Token![,])?.into_iter().collect()
                } else {
                    vec![body.parse::<Ident>().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "write the values the model returns: `output (a, b)` or `output a`",
                        )
                    })?]
                };
                if names.is_empty() {
                    return Err(syn::Error::new(
                        kw.span(),
                        "write the values the model returns: `output (a, b)` or `output a`",
                    ));
                }
                output = Some(OutputDecl { keyword: kw.span(), names });
                continue;
            }
            layers.push(body.parse::<LayerDecl>()?);
        }
        let shown = name.to_string();
        Ok(ModelDef {
            attrs,
            vis,
            name,
            params,
            shown,
            build: None,
            inputs,
            layers,
            output,
            body_span,
        })
    }
}

/// The `,` between two sizes (none after the last).
fn continue_after_comma(content: ParseStream) -> syn::Result<()> {
    if !content.is_empty() {
        content.parse::<Token![,]>()?;
    }
    Ok(())
}

/// `output = [16, 8, 8]` inside `#[custom(...)]`.
fn parse_custom_output(input: ParseStream) -> syn::Result<InputDecl> {
    let key: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "write `#[custom(output = [...])]` with the per-sample output shape",
        )
    })?;
    if key != "output" {
        return Err(syn::Error::new(
            key.span(),
            format!(
                "`#[custom]` takes `output = [...]` (the per-sample output shape), not `{key}`"
            ),
        ));
    }
    input.parse::<Token![=]>()?;
    parse_input(input)
}

fn parse_input(input: ParseStream) -> syn::Result<InputDecl> {
    let content;
    let bracket = bracketed!(content in input);
    let mut dims = Vec::new();
    while !content.is_empty() {
        if content.peek(Token![_]) {
            let underscore = content.parse::<Token![_]>()?;
            dims.push((SizeDecl::Any, underscore.span));
        } else if content.peek(Ident) {
            let id: Ident = content.parse()?;
            let span = id.span();
            if SizeExpr::continues(&content) {
                let e = SizeExpr::parse_after(SizeExpr::Param(id), &content)?;
                dims.push((SizeDecl::Expr(e), span));
            } else {
                dims.push((SizeDecl::Named(id), span));
            }
        } else if content.peek(syn::token::Paren) {
            let e = SizeExpr::parse(&content)?;
            let span = e.span();
            dims.push((SizeDecl::Expr(e), span));
        } else {
            let lit: syn::LitInt = content.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "input sizes are integer literals, e.g. `input: [1, 28, 28]`",
                )
            })?;
            let v: usize = lit.base10_parse()?;
            if SizeExpr::continues(&content) {
                let first = SizeExpr::Lit(v as u64, lit.span());
                let e = SizeExpr::parse_after(first, &content)?;
                dims.push((SizeDecl::Expr(e), lit.span()));
                continue_after_comma(&content)?;
                continue;
            }
            if v == 0 {
                return Err(syn::Error::new(lit.span(), "an input size must be at least 1"));
            }
            dims.push((SizeDecl::Fixed(v), lit.span()));
        }
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    let span = bracket.span.join();
    if dims.is_empty() {
        return Err(syn::Error::new(span, "the input shape needs at least one size, e.g. `[784]`"));
    }
    if dims.len() > 5 {
        return Err(syn::Error::new(
            span,
            "the input shape has at most 5 sizes (rank 6 with the batch)",
        ));
    }
    Ok(InputDecl { dims })
}

impl Parse for LayerDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let mut custom = false;
        let mut stated = None;
        let mut docs = Vec::new();
        let mut when = None;
        for a in attrs {
            if a.path().is_ident("when") {
                when = Some(a.parse_args::<Expr>().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "`#[when(...)]` takes a condition on the model's parameters, e.g. `#[when(STRIDE != 1 || IN != OUT)]`",
                    )
                })?);
            } else if a.path().is_ident("custom") {
                custom = true;
                if let syn::Meta::List(list) = &a.meta {
                    stated = Some(list.parse_args_with(parse_custom_output)?);
                }
            } else if a.path().is_ident("doc") {
                docs.push(a);
            } else {
                return Err(syn::Error::new(
                    a.span(),
                    "only doc comments, `#[custom]` (a user layer) and `#[when(...)]` (a layer that exists only when a condition on the model's parameters holds) may annotate a layer",
                ));
            }
        }
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        if custom {
            return Ok(LayerDecl {
                inputs: None,
                docs,
                name,
                kind: KindDecl::Custom(Box::new(input.parse()?), stated),
                when,
                param_name: None,
            });
        }
        if input.peek(syn::token::Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            let mut items = Vec::new();
            while !content.is_empty() {
                let kind: Ident = content.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "a sequence lists models or layers, e.g. `(BasicBlock<64, 64, 1>, BasicBlock<64, 64, 1>)` or `(Conv2d<64, 128, 1, stride = 2>, BatchNorm2d<128>)`",
                    )
                })?;
                let (args, span) = parse_kind_args(&kind, &content)?;
                items.push(SeqItem { kind, args, span });
                if !content.is_empty() {
                    content.parse::<Token![,]>()?;
                }
            }
            if items.is_empty() {
                return Err(syn::Error::new(
                    paren.span.join(),
                    "a sequence lists the models it applies in order, e.g. `layer1: (BasicBlock, BasicBlock)`",
                ));
            }
            let inputs = parse_inputs(input)?;
            let kind = KindDecl::Sequence { items };
            return Ok(LayerDecl { docs, name, kind, inputs, when, param_name: None });
        }
        let kind: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a layer kind such as `Linear<784, 128>` or `Relu`")
        })?;
        let (args, span) = parse_kind_args(&kind, input)?;
        let inputs = parse_inputs(input)?;
        let kind = KindDecl::Builtin { kind, args, span };
        Ok(LayerDecl { docs, name, kind, inputs, when, param_name: None })
    }
}

/// `(x, c2)` after a kind: the values a node reads.
fn parse_inputs(input: ParseStream) -> syn::Result<Option<Vec<Ident>>> {
    if !input.peek(syn::token::Paren) {
        return Ok(None);
    }
    let content;
    syn::parenthesized!(content in input);
    let names = content.parse_terminated(Ident::parse, Token![,])?;
    Ok(Some(names.into_iter().collect()))
}
