//! Code generation for a validated model: the struct, its cache, `new`, `forward`,
//! `forward_train`, the generated `backward` (layers in reverse), the parameter visitor, the
//! summary, and the `Layer` impl that lets a model stand inside another one.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use super::parse::ModelDef;
use super::shapes::Flow;
use super::spec::Resolved;
use crate::dim::const_type;

/// `tokens` located at `span`, so rustc's notes about generated items point at one token of the
/// user's declaration instead of the whole `model!` block. Only the location moves: each token
/// keeps its hygiene, so lints still see generated code as coming from a macro. With `None`,
/// spans are left as they are.
///
/// A group after the marker ident [`KEEP_SPANS`] is passed through with its own spans (the marker
/// dropped): generated code given a user token's span by [`with_span`] (the model's input bound,
/// the uses of a custom layer with a stated output), so that rustc treats errors there as the
/// user's code: no "originates in the macro" note, and identical errors merge.
fn respan(tokens: TokenStream, span: Option<proc_macro2::Span>) -> TokenStream {
    let mut out = TokenStream::new();
    let mut keep_next = false;
    for mut tt in tokens {
        match &mut tt {
            proc_macro2::TokenTree::Ident(i) if i == KEEP_SPANS => {
                keep_next = true;
                continue;
            }
            proc_macro2::TokenTree::Group(g) if keep_next => {
                out.extend(respan(g.stream(), None));
                keep_next = false;
                continue;
            }
            proc_macro2::TokenTree::Group(g) => {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span.map_or(g.span(), |s| g.span().located_at(s)));
                tt = proc_macro2::TokenTree::Group(group);
            }
            other => {
                if let Some(s) = span {
                    other.set_span(other.span().located_at(s));
                }
            }
        }
        keep_next = false;
        out.extend([tt]);
    }
    out
}

/// See [`respan`].
const KEEP_SPANS: &str = "__shapeflow_keep_spans";

/// `tokens` with every span set to `span` (location and hygiene: a user token's span makes the
/// tokens read as the user's own code).
fn with_span(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), with_span(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

fn private() -> TokenStream {
    quote!(::shapeflow::__private)
}

/// `(Dyn, Const<1>, Const<28>, Const<28>)` for a per-sample shape `[1, 28, 28]`.
fn shape_type(per_sample: &[usize]) -> TokenStream {
    let p = private();
    let dims = per_sample.iter().map(|&d| const_type(d as u64));
    quote!((#p::Dyn, #(#dims,)*))
}

fn layer_type(layer: &Resolved) -> TokenStream {
    let p = private();
    match layer {
        Resolved::Linear { input, output } => {
            let (i, o) = (const_type(input.0 as u64), const_type(*output as u64));
            quote!(#p::layers::Linear<#i, #o, B>)
        }
        Resolved::Activation(k) | Resolved::Softmax(k) => {
            let k = format_ident!("{}", k);
            quote!(#p::layers::#k)
        }
        Resolved::Conv { two_d, input, output, kernel, stride, padding, dilation } => {
            let kind = if *two_d { format_ident!("Conv2d") } else { format_ident!("Conv1d") };
            let [i, o, k, s, pd, d] = [input.0, *output, kernel.0, *stride, *padding, *dilation]
                .map(|v| const_type(v as u64));
            quote!(#p::layers::#kind<#i, #o, #k, B, #s, #pd, #d>)
        }
        Resolved::Pool { max, kernel, stride, padding } => {
            let kind = if *max { format_ident!("MaxPool2d") } else { format_ident!("AvgPool2d") };
            let [k, s, pd] = [kernel.0, *stride, padding.0].map(|v| const_type(v as u64));
            quote!(#p::layers::#kind<#k, #s, #pd>)
        }
        Resolved::GlobalAvgPool => quote!(#p::layers::GlobalAvgPool2d),
        Resolved::Flatten => quote!(#p::layers::Flatten),
        Resolved::BatchNorm { features, .. } => {
            let c = const_type(features.0 as u64);
            quote!(#p::layers::BatchNorm<#c, B>)
        }
        Resolved::Dropout2d(_) => quote!(#p::layers::Dropout2d),
        Resolved::LeakyRelu(_) => quote!(#p::layers::LeakyRelu),
        Resolved::Dropout(_) => quote!(#p::layers::Dropout),
        Resolved::Custom(ty, _) => quote!(#ty),
        Resolved::Invalid => quote!(()),
    }
}

fn init_expr(layer: &Resolved, ty: &TokenStream) -> TokenStream {
    let p = private();
    match layer {
        Resolved::LeakyRelu(s) => quote!(#p::layers::LeakyRelu::new(#s)),
        Resolved::Dropout(prob) => quote!(#p::layers::Dropout::new(#prob, rng.next_u64())),
        Resolved::Dropout2d(prob) => quote!(#p::layers::Dropout2d::new(#prob, rng.next_u64())),
        Resolved::BatchNorm { eps, momentum, .. } => {
            quote!(<#ty>::with_config(dev, #eps, #momentum))
        }
        _ => quote!(<#ty as #p::Init<B>>::init(dev, &mut rng)),
    }
}

/// Everything the expansion needs per layer.
struct Plan {
    names: Vec<syn::Ident>,
    types: Vec<TokenStream>,
    /// `shapes[i]`: the type of layer i's input; `shapes[n]`: the model output.
    shapes: Vec<TokenStream>,
    where_clauses: Vec<TokenStream>,
    /// How layer i is called: `Layer<X, B>`, or `LayerTo<X, Y, B>` for a layer whose output
    /// size `model!` computed (convolution, pooling, flatten).
    calls: Vec<Call>,
}

/// The trait a layer is called through, and its three method names.
struct Call {
    /// A custom layer with a stated output: its output is relabelled with the stated shape
    /// (a generated check proves the two types equal).
    retype: bool,
    via: TokenStream,
    forward: syn::Ident,
    forward_train: syn::Ident,
    backward: syn::Ident,
    /// The parameter-gradients-only backward (the model's first layer).
    backward_params: syn::Ident,
}

fn call(layer: &Resolved, input: &TokenStream, output: Option<&TokenStream>) -> Call {
    let p = private();
    let sized = matches!(layer, Resolved::Conv { .. } | Resolved::Pool { .. } | Resolved::Flatten);
    match output {
        Some(out) if sized => Call {
            retype: false,
            via: quote!(#p::LayerTo<#input, #out, B>),
            forward: format_ident!("forward_to"),
            forward_train: format_ident!("forward_train_to"),
            backward: format_ident!("backward_to"),
            backward_params: format_ident!("backward_params_to"),
        },
        _ => Call {
            retype: matches!((layer, output), (Resolved::Custom(_, Some(_)), Some(_))),
            via: quote!(#p::Layer<#input, B>),
            forward: format_ident!("forward"),
            forward_train: format_ident!("forward_train"),
            backward: format_ident!("backward"),
            backward_params: format_ident!("backward_params"),
        },
    }
}

fn plan(def: &ModelDef, layers: &[Resolved], flow: &Flow) -> Plan {
    let p = private();
    let names: Vec<syn::Ident> = def.layers.iter().map(|l| l.name.clone()).collect();
    let types: Vec<TokenStream> = layers.iter().map(layer_type).collect();
    let mut shapes: Vec<TokenStream> = Vec::with_capacity(layers.len() + 1);
    let mut calls: Vec<Call> = Vec::with_capacity(layers.len());
    let mut where_clauses = Vec::new();
    for (i, known) in flow.shapes.iter().enumerate() {
        let ty = match known {
            Some(s) => shape_type(s),
            None => {
                let via = &calls[i - 1].via;
                let prev_ty = &types[i - 1];
                quote!(<#prev_ty as #via>::Output)
            }
        };
        shapes.push(ty);
        if let Some(layer) = layers.get(i) {
            let out = flow.shapes[i + 1].as_ref().map(|s| shape_type(s));
            calls.push(call(layer, &shapes[i], out.as_ref()));
        }
    }
    for (i, layer) in layers.iter().enumerate() {
        let (ty, input) = (&types[i], &shapes[i]);
        match layer {
            // A custom layer whose output is stated needs no bound: its check function (below)
            // reports a layer that does not take its input at the layer's name, and the model's
            // items stay usable, so code that uses the model adds no follow-on errors.
            Resolved::Custom(_, Some(_)) => {}
            Resolved::Custom(_, None) => {
                where_clauses.push(quote!(#ty: #p::Layer<#input, B> + #p::Init<B>));
            }
            _ if flow.shapes[i].is_none() => {
                where_clauses.push(quote!(#ty: #p::Layer<#input, B>));
            }
            _ => {}
        }
    }
    Plan { names, types, shapes, where_clauses, calls }
}

pub(crate) fn model(def: &ModelDef, layers: &[Resolved], flow: &Flow) -> TokenStream {
    let p = private();
    let Plan { names, types, shapes, where_clauses, calls } = plan(def, layers, flow);
    let n = names.len();
    let name = &def.name;
    let vis = &def.vis;
    let attrs = &def.attrs;
    let cache_name = format_ident!("{}Cache", name);
    let input_alias = format_ident!("{}Input", name);
    let accepts = format_ident!("{}AcceptsInput", name);
    let output_alias = format_ident!("{}Output", name);
    let s0 = &shapes[0];
    let sn = &shapes[n];
    let docs: Vec<&Vec<syn::Attribute>> = def.layers.iter().map(|l| &l.docs).collect();
    let name_strs: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let kinds: Vec<String> =
        layers.iter().zip(&def.layers).map(|(l, d)| l.describe(&d.kind)).collect();
    let outputs = &shapes[1..];
    let inits: Vec<TokenStream> = layers.iter().zip(&types).map(|(l, t)| init_expr(l, t)).collect();
    let input_desc = format!(
        "[batch, {}]",
        def.input.dims.iter().map(|d| d.0.to_string()).collect::<Vec<_>>().join(", ")
    );
    let model_str = name.to_string();

    // forward: x_0 is the argument; x_{i+1} = layer_i(x_i).
    let xs: Vec<syn::Ident> = (0..=n).map(|i| format_ident!("x{}", i)).collect();
    let cs: Vec<syn::Ident> = (0..n).map(|i| format_ident!("c{}", i)).collect();
    let ds: Vec<syn::Ident> = (0..=n).map(|i| format_ident!("d{}", i)).collect();
    let gs: Vec<syn::Ident> = (0..n).map(|i| format_ident!("g{}", i)).collect();
    // The first layer borrows the caller's input; later ones borrow the previous output.
    let x_in: Vec<TokenStream> = (0..n)
        .map(|i| {
            if i == 0 {
                quote!(x0)
            } else {
                let x = &xs[i];
                quote!(&#x)
            }
        })
        .collect();
    let x_last = &xs[n];
    // Generated code about layer `i`, spanned at the layer's name itself (location and hygiene)
    // when it is a custom layer with a stated output: such a layer is used without a `where`
    // clause, so each use fails when it does not take its input, and identical errors at one
    // user span are reported once, without a macro note (see `respan`).
    let keep = format_ident!("{}", KEEP_SPANS);
    let at_user = |i: usize, tokens: TokenStream| -> TokenStream {
        if calls[i].retype {
            let tokens = with_span(tokens, names[i].span());
            quote!(#keep(#tokens))
        } else {
            tokens
        }
    };
    // `<Type as Layer<X, B>>::item` (or `LayerTo<X, Y, B>`) for layer `i`.
    let qual = |i: usize, item: TokenStream| -> TokenStream {
        let (ty, via) = (&types[i], &calls[i].via);
        at_user(i, quote!(<#ty as #via>::#item))
    };
    let mut fwd_stmts = Vec::with_capacity(n);
    let mut train_stmts = Vec::with_capacity(n);
    for i in 0..n {
        let (field, x, c, xin) = (&names[i], &xs[i + 1], &cs[i], &x_in[i]);
        let (fwd, train) = (
            qual(i, calls[i].forward.to_token_stream()),
            qual(i, calls[i].forward_train.to_token_stream()),
        );
        if calls[i].retype {
            fwd_stmts.push(at_user(i, quote!(let #x = #fwd(&self.#field, #xin).__assume_shape();)));
            train_stmts.push(at_user(
                i,
                quote!(
                    let (#x, #c) = #train(&mut self.#field, #xin);
                    let #x = #x.__assume_shape();
                ),
            ));
        } else {
            fwd_stmts.push(quote!(let #x = #fwd(&self.#field, #xin);));
            train_stmts.push(quote!(let (#x, #c) = #train(&mut self.#field, #xin);));
        }
    }
    // backward walks the layers in reverse: d_i = input gradient of layer i.
    let rev: Vec<usize> = (0..n).rev().collect();
    // The last layer borrows the caller's gradient; earlier ones borrow the next layer's result.
    // A custom layer's relabelled output takes its gradient back under the layer's own output
    // type: the next layer's result is moved for that, only the caller's `dy` is copied.
    let rev_d_out: Vec<TokenStream> = rev
        .iter()
        .map(|&i| match (i + 1 == n, calls[i].retype) {
            (true, false) => quote!(dy),
            (true, true) => quote!(&dy.clone().__assume_shape()),
            (false, false) => {
                let d = &ds[i + 1];
                quote!(&#d)
            }
            (false, true) => {
                let d = &ds[i + 1];
                quote!(&#d.__assume_shape())
            }
        })
        .collect();
    let d_0 = &ds[0];
    let bwd_stmts: Vec<TokenStream> = rev
        .iter()
        .zip(&rev_d_out)
        .map(|(&i, d_out)| {
            let (bwd, field, d_in, g) =
                (qual(i, calls[i].backward.to_token_stream()), &names[i], &ds[i], &gs[i]);
            at_user(i, quote!(let (#d_in, #g) = #bwd(&self.#field, &cache.#field, #d_out)?;))
        })
        .collect();
    // The same walk without the model's input gradient: the first layer computes its
    // parameter gradients only (for `Linear`, one matrix product less).
    let bwd_param_stmts: Vec<TokenStream> = rev
        .iter()
        .zip(&rev_d_out)
        .zip(&bwd_stmts)
        .map(|((&i, d_out), stmt)| {
            if i > 0 {
                return stmt.clone();
            }
            let (bwd, field, g) =
                (qual(i, calls[i].backward_params.to_token_stream()), &names[i], &gs[i]);
            at_user(i, quote!(let #g = #bwd(&self.#field, &cache.#field, #d_out)?;))
        })
        .collect();
    let caches: Vec<TokenStream> = (0..n)
        .map(|i| {
            let (field, cache) = (&names[i], qual(i, quote!(Cache)));
            at_user(i, quote!(pub #field: #cache))
        })
        .collect();
    let cache_inits: Vec<TokenStream> = (0..n)
        .map(|i| {
            let (field, c) = (&names[i], &cs[i]);
            at_user(i, quote!(#field: #c))
        })
        .collect();
    let cache_doc =
        format!("What `{name}::forward_train` keeps for `{name}::backward`: one cache per layer.");
    let input_doc = format!("Input tensor of `{name}`: shape {input_desc}.");
    let output_doc = format!("Output tensor of `{name}`.");
    let accepts_doc = format!(
        "Implemented by a borrow of the one tensor type `{name}` accepts ({input_desc}); its failure message names the model and the shape it expects."
    );
    let accepts_message = format!("model `{name}` expects input {input_desc}");
    let accepts_label =
        format!("this is not a tensor of shape {input_desc} on the model's backend");

    // Implemented for `&X` by a blanket impl (see `shapeflow_core::operand`): a wrong input is
    // one short error at the argument, with the message below.
    let accepts_impl = quote! {
        #[diagnostic::do_not_recommend]
        impl<B: #p::Backend, X: ?Sized + #p::Is<#p::Tensor<#s0, B>>> #accepts<B> for &X {
            fn as_model_input(&self) -> &#p::Tensor<#s0, B> {
                #p::Is::is(&**self)
            }
        }
    };
    // The bound on `forward`'s argument keeps the user's span (see `respan`).
    let accepts_bound = {
        let bound = with_span(quote!(&'x X: #accepts<B>), name.span());
        quote!(#keep(#bound))
    };
    let cache_ty = quote!(#cache_name<B>);
    // The cache's size depends on every layer's cache type: with a custom layer whose stated
    // output is used unchecked, spanned at that layer's name like its other uses.
    let train_ret = match (0..n).find(|&i| calls[i].retype) {
        Some(i) => at_user(i, quote!((#p::Tensor<#sn, B>, #cache_ty))),
        None => quote!((#p::Tensor<#sn, B>, #cache_ty)),
    };
    // For each custom layer whose output the model states: a function that only compiles when
    // the layer takes its input and its `Output` is the stated shape.
    let stated_checks: Vec<TokenStream> = (0..n)
        .filter(|&i| calls[i].retype)
        .map(|i| {
            let (output, out, field) = (qual(i, quote!(Output)), &shapes[i + 1], &names[i]);
            let input_ty = at_user(i, quote!(#p::Tensor<#output, B>));
            let check = format_ident!("__{}_output_is_as_stated", field);
            quote! {
                #[allow(dead_code, non_snake_case, clippy::all)]
                fn #check<B: #p::Backend>(
                    y: #input_ty,
                ) -> #p::Tensor<#out, B> {
                    y
                }
            }
        })
        .collect();

    // Every generated token is spanned at one token of the declaration: the first custom
    // layer's name (errors in generated code can only come from a custom layer, and rustc
    // merges identical errors at one place, so a custom layer that does not fit is one error
    // there), else the model's name. Notes that point into the generated code then show one
    // line instead of the whole `model!` block.
    let span = layers
        .iter()
        .position(|l| matches!(l, Resolved::Custom(..)))
        .map_or(name.span(), |i| names[i].span());
    let generated = quote! {
        #(#attrs)*
        #vis struct #name<B: #p::Backend> {
            #( #(#docs)* pub #names: #types, )*
            #[doc(hidden)]
            pub __backend: ::core::marker::PhantomData<fn() -> B>,
        }

        #[doc = #cache_doc]
        #vis struct #cache_name<B: #p::Backend> where #(#where_clauses,)* {
            #( #[doc = concat!("Cache of `", #name_strs, "`.")] #caches, )*
            #[doc(hidden)]
            pub __backend: ::core::marker::PhantomData<fn() -> B>,
        }

        #[doc = #input_doc]
        #vis type #input_alias<B> = #p::Tensor<#s0, B>;

        #[doc = #accepts_doc]
        #[diagnostic::on_unimplemented(
            message = #accepts_message,
            label = #accepts_label
        )]
        #vis trait #accepts<B: #p::Backend> {
            /// The tensor as the model's input type.
            fn as_model_input(&self) -> &#p::Tensor<#s0, B>;
        }

        #accepts_impl
        const _: () = { #( #stated_checks )* };
        #[doc = #output_doc]
        #vis type #output_alias<B> = #p::Tensor<#sn, B>;

        impl<B: #p::Backend> #name<B> where #(#where_clauses,)* {
            /// A freshly initialised model on `dev`; the same seed gives the same weights.
            pub fn new(dev: &B, seed: u64) -> Self {
                let mut rng = #p::Rng::new(seed);
                let _ = &mut rng;
                Self { #( #names: #inits, )* __backend: ::core::marker::PhantomData }
            }

            /// Inference forward pass (dropout off), run where the backend's kernels run best
            /// (`Device::on_workers`: on the CPU, one of its worker threads).
            pub fn forward<'x, X: ?Sized>(&self, x: &'x X) -> #p::Tensor<#sn, B>
            where
                #accepts_bound,
                Self: Sync,
            {
                let x = #accepts::as_model_input(&x);
                <B as #p::Device>::on_workers(|| <Self as #p::Layer<#s0, B>>::forward(self, x))
            }

            /// Training forward pass: the output and every layer's cache for [`Self::backward`].
            pub fn forward_train<'x, X: ?Sized>(&mut self, x: &'x X) -> #train_ret
            where
                #accepts_bound,
            {
                <Self as #p::Layer<#s0, B>>::forward_train(self, #accepts::as_model_input(&x))
            }

            /// Generated backward pass: from the output gradient, the gradient of every parameter,
            /// as a value of the model's own type (`grads.fc1.weight` is `∂L/∂fc1.weight`).
            pub fn backward(&self, cache: &#cache_ty, dy: &#p::Tensor<#sn, B>) -> #p::Result<Self> {
                <Self as #p::Layer<#s0, B>>::backward_params(self, cache, dy)
            }

            /// Number of scalar parameters.
            pub fn num_params(&self) -> usize {
                #p::Module::<B>::num_params(self)
            }

            /// The Keras-like summary table (print it with `{}`).
            pub fn summary(&self) -> #p::Summary {
                #p::Summary {
                    model: #model_str.to_string(),
                    input: #input_desc.to_string(),
                    rows: vec![#(
                        #p::SummaryRow {
                            name: #name_strs.to_string(),
                            kind: #kinds.to_string(),
                            output: <#outputs as #p::Shape>::describe(),
                            params: #p::Module::<B>::num_params(&self.#names),
                        },
                    )*],
                }
            }
        }

        impl<B: #p::Backend> #p::Layer<#s0, B> for #name<B> where #(#where_clauses,)* {
            type Output = #sn;
            type Cache = #cache_ty;

            fn forward(&self, x0: &#p::Tensor<#s0, B>) -> #p::Tensor<#sn, B> {
                #( #fwd_stmts )*
                #x_last
            }

            fn forward_train(&mut self, x0: &#p::Tensor<#s0, B>) -> (#p::Tensor<#sn, B>, #cache_ty) {
                #( #train_stmts )*
                (#x_last, #cache_name { #( #cache_inits, )* __backend: ::core::marker::PhantomData })
            }

            fn backward(
                &self,
                cache: &#cache_ty,
                dy: &#p::Tensor<#sn, B>,
            ) -> #p::Result<(#p::Tensor<#s0, B>, Self)> {
                #( #bwd_stmts )*
                Ok((#d_0, Self { #( #names: #gs, )* __backend: ::core::marker::PhantomData }))
            }

            fn backward_params(&self, cache: &#cache_ty, dy: &#p::Tensor<#sn, B>) -> #p::Result<Self> {
                #( #bwd_param_stmts )*
                Ok(Self { #( #names: #gs, )* __backend: ::core::marker::PhantomData })
            }
        }

        impl<B: #p::Backend> #p::Module<B> for #name<B> {
            fn visit_params(&self, path: &mut String, f: &mut #p::VisitFn<'_, B>) {
                #( #p::with_field(path, #name_strs, |path| #p::Module::<B>::visit_params(&self.#names, path, f)); )*
            }
            fn visit_params_mut(&mut self, path: &mut String, f: &mut #p::VisitMutFn<'_, B>) {
                #( #p::with_field(path, #name_strs, |path| #p::Module::<B>::visit_params_mut(&mut self.#names, path, f)); )*
            }
            fn visit_params_with_grads(
                &mut self,
                grads: &Self,
                path: &mut String,
                f: &mut #p::VisitGradsFn<'_, B>,
            ) {
                #( #p::with_field(path, #name_strs, |path| #p::Module::<B>::visit_params_with_grads(&mut self.#names, &grads.#names, path, f)); )*
            }
            fn visit_state(&self, path: &mut String, f: &mut #p::StateFn<'_, B>) {
                #( #p::with_field(path, #name_strs, |path| #p::Module::<B>::visit_state(&self.#names, path, f)); )*
            }
            fn visit_state_mut(&mut self, path: &mut String, f: &mut #p::StateMutFn<'_, B>) {
                #( #p::with_field(path, #name_strs, |path| #p::Module::<B>::visit_state_mut(&mut self.#names, path, f)); )*
            }
            fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
                #( #p::with_field(path, #name_strs, |path| #p::Module::<B>::visit_rng(&mut self.#names, path, f)); )*
            }
        }
    };
    respan(generated, Some(span))
}

/// After a DSL error: the same public items with the declared input type and no working bodies,
/// so the user sees the one real error rather than a cascade from code that uses the model.
pub(crate) fn fallback(def: &ModelDef, output: &[usize]) -> TokenStream {
    let p = private();
    let name = &def.name;
    let vis = &def.vis;
    let attrs = &def.attrs;
    let cache_name = format_ident!("{}Cache", name);
    let s0 = shape_type(&def.input.dims.iter().map(|d| d.0).collect::<Vec<_>>());
    let sn = shape_type(output);
    quote! {
        #(#attrs)*
        #vis struct #name<B: #p::Backend>(::core::marker::PhantomData<B>);
        #vis struct #cache_name<B: #p::Backend>(::core::marker::PhantomData<B>);
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #name<B> {
            pub fn new(dev: &B, seed: u64) -> Self { ::core::unreachable!() }
            pub fn forward(&self, x: &#p::Tensor<#s0, B>) -> #p::Tensor<#sn, B> { ::core::unreachable!() }
            pub fn forward_train(&mut self, x: &#p::Tensor<#s0, B>) -> (#p::Tensor<#sn, B>, #cache_name<B>) { ::core::unreachable!() }
            pub fn backward(&self, cache: &#cache_name<B>, dy: &#p::Tensor<#sn, B>) -> #p::Result<Self> { ::core::unreachable!() }
            pub fn num_params(&self) -> usize { ::core::unreachable!() }
            pub fn summary(&self) -> #p::Summary { ::core::unreachable!() }
        }
        #[allow(unused_variables, clippy::all)]
        impl<B: #p::Backend> #p::Module<B> for #name<B> {
            fn visit_params(&self, path: &mut String, f: &mut #p::VisitFn<'_, B>) {}
            fn visit_params_mut(&mut self, path: &mut String, f: &mut #p::VisitMutFn<'_, B>) {}
            fn visit_params_with_grads(&mut self, grads: &Self, path: &mut String, f: &mut #p::VisitGradsFn<'_, B>) {}
        }
    }
}
