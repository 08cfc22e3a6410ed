//! Code generation for a validated model, from its graph: the struct, its cache, `new`,
//! `forward`, `forward_train`, the generated `backward`, the parameter visitor, `graph()` and
//! `summary()`, and the `Layer` impl that lets a model stand inside another one.

mod alias;
mod debug;
mod describe;
mod fallback;
mod fuse;
mod multi;
mod multi_inputs;
mod passes;
mod plan;
mod spans;

pub(crate) use alias::template_alias;
pub(crate) use fallback::fallback;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use self::passes::{Passes, input_checks, passes};
use self::plan::Plan;
use self::spans::{KEEP_SPANS, respan, with_span};
use super::infer::{Instance, Shapes};
use super::ir::{Graph, NodeRef, Op};
use super::kinds::private;
use super::parse::ModelDef;

/// Names shared by the generated items.
pub(crate) struct Names {
    name: syn::Ident,
    cache: syn::Ident,
    accepts: syn::Ident,
    /// `[batch, 1, 28, 28]`.
    input_desc: String,
    /// The input and output tensor shapes.
    s0: TokenStream,
    sn: TokenStream,
}

/// Everything generated for one model of the block: the model at its declared input (when
/// every size is fixed) or, for a model with a `_` size, its struct alone; and a `Layer` impl
/// for each other input shape a later model of the block applies it to.
pub(crate) fn model(def: &ModelDef, g: &Graph, shapes: &Shapes, uses: &[&Instance]) -> TokenStream {
    if !g.is_layer() {
        return multi::multi_model(def, g, shapes);
    }
    let declared = g.inputs[0].fixed_dims();
    let mut out = match &declared {
        Some(_) => fixed_model(def, g, shapes),
        None => template(def, g, shapes),
    };
    for (k, used) in uses.iter().enumerate() {
        if declared.as_ref() != Some(&used.input) {
            out.extend(instance(def, g, &used.shapes, k));
        }
    }
    out
}

/// The span every generated token is located at: the first custom layer's name (errors in
/// generated code can only come from a custom layer, and rustc merges identical errors at one
/// place, so a custom layer that does not fit is one error there), else the model's name.
/// Notes that point into the generated code then show one line instead of the whole block.
pub(crate) fn anchor(g: &Graph, plan: &Plan, name: &syn::Ident) -> proc_macro2::Span {
    g.nodes
        .iter()
        .position(|n| matches!(n.op, Op::Custom { .. }))
        .map_or(name.span(), |i| plan.names[i].span())
}

/// A model whose input has a `_` size: its struct, `new`, `num_params`, `Init` and `Module`;
/// its `Layer` impls come from its uses.
fn template(def: &ModelDef, g: &Graph, shapes: &Shapes) -> TokenStream {
    let plan = Plan::new(g, shapes);
    let p = private();
    let name = &def.name;
    let fields = plan.named_fields();
    let (constructor, init) = (constructor(g, &plan), init_impl(name, &[]));
    let debug = debug::debug_impl(g, &plan, name);
    let module = crate::module_visitor::module_impl(
        quote!(impl<B: #p::Backend> #p::Module<B> for #name<B>),
        &quote!(B),
        &fields,
    );
    let decl = struct_decl(def, g, &plan);
    let tokens = quote! {
        #decl

        impl<B: #p::Backend> #name<B> {
            #constructor

            /// Number of scalar parameters.
            pub fn num_params(&self) -> usize {
                #p::Module::<B>::num_params(self)
            }
        }

        #init

        #module
        #debug
    };
    respan(tokens, Some(anchor(g, &plan, name)))
}

/// `impl Layer` for the model at one input shape a later model applies it to, with its cache.
fn instance(def: &ModelDef, g: &Graph, shapes: &Shapes, k: usize) -> TokenStream {
    let plan = Plan::new(g, shapes);
    let passes = passes(g, &plan);
    let names = Names {
        name: def.name.clone(),
        cache: format_ident!("__{}Cache{}", def.name, k),
        accepts: format_ident!("{}AcceptsInput", def.name),
        input_desc: String::new(),
        s0: plan.value_type(NodeRef::Input(0)),
        sn: plan.value_type(g.output()),
    };
    let cache = cache_struct(&def.vis, &plan, &names, None);
    let layer = layer_impl(&plan, &names, &passes, &input_checks(g, &plan));
    let described = described_at(&plan, &names, describe::graph_expr(g, &plan, &def.shown));
    respan(quote!(#cache #layer #described), Some(anchor(g, &plan, &def.name)))
}

/// `impl DescribedAt<Input>`: the model's graph at one input shape, for the graph of a model
/// that applies it.
fn described_at(plan: &Plan, n: &Names, graph: TokenStream) -> TokenStream {
    let p = private();
    let (name, s0, where_clauses) = (&n.name, &n.s0, &plan.where_clauses);
    quote! {
        impl<B: #p::Backend> #p::DescribedAt<#s0> for #name<B> where #(#where_clauses,)* {
            fn graph_at(&self) -> #p::Graph {
                #graph
            }
        }
    }
}

/// The struct `Layer::Cache` names: one cache per node. `doc` documents it; without, hidden.
pub(crate) fn cache_struct(
    vis: &syn::Visibility,
    plan: &Plan,
    n: &Names,
    doc: Option<String>,
) -> TokenStream {
    let p = private();
    let (cache, names, where_clauses) = (&n.cache, &plan.names, &plan.where_clauses);
    let name_strs: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let caches: Vec<TokenStream> = (0..names.len())
        .map(|i| {
            let (field, cache) = (&names[i], plan.qual(i, quote!(Cache)));
            plan.at_user(i, quote!(pub #field: #cache))
        })
        .collect();
    let doc = match doc {
        Some(d) => quote!(#[doc = #d]),
        None => quote!(#[doc(hidden)]),
    };
    quote! {
        #doc
        #vis struct #cache<B: #p::Backend> where #(#where_clauses,)* {
            #( #[doc = concat!("Cache of `", #name_strs, "`.")] #caches, )*
            #[doc(hidden)]
            pub __backend: ::core::marker::PhantomData<fn() -> B>,
        }
    }
}

/// `num_params`, `graph` and `summary`, with `graph` the expression building the graph.
pub(crate) fn described(graph: &TokenStream) -> TokenStream {
    let p = private();
    quote! {
        /// Number of scalar parameters.
        pub fn num_params(&self) -> usize {
            #p::Module::<B>::num_params(self)
        }

        /// The model's description of itself: inputs, and every node with its kind,
        /// attributes, inputs, output shape and parameters (what `summary` prints).
        pub fn graph(&self) -> #p::Graph {
            #graph
        }

        /// The Keras-like summary table (print it with `{}`), built from [`Self::graph`].
        pub fn summary(&self) -> #p::Summary {
            self.graph().summary()
        }
    }
}

/// `new(&dev, seed)`: every owned layer initialised from one seeded generator, in order.
pub(crate) fn constructor(g: &Graph, plan: &Plan) -> TokenStream {
    let p = private();
    let owned: Vec<usize> = (0..plan.names.len()).filter(|&i| plan.owns(i)).collect();
    let fields: Vec<&syn::Ident> = owned.iter().map(|&i| &plan.names[i]).collect();
    let inits: Vec<TokenStream> = owned.iter().map(|&i| init_expr(g, plan, i)).collect();
    quote! {
        /// A freshly initialised model on `dev`; the same seed gives the same weights.
        pub fn new(dev: &B, seed: u64) -> Self {
            let mut rng = #p::Rng::new(seed);
            let _ = &mut rng;
            Self { #( #fields: #inits, )* __backend: ::core::marker::PhantomData }
        }
    }
}

/// `impl Init`: a model is a node of another, initialised from the outer model's generator.
pub(crate) fn init_impl(name: &syn::Ident, where_clauses: &[TokenStream]) -> TokenStream {
    let p = private();
    quote! {
        /// A model is a node of another model (declared after it in the same `model!`, or
        /// `#[custom(output = [...])] block: Name<B>`), initialised from the outer generator.
        impl<B: #p::Backend> #p::Init<B> for #name<B> where #(#where_clauses,)* {
            fn init(dev: &B, rng: &mut #p::Rng) -> Self {
                Self::new(dev, rng.next_u64())
            }
        }
    }
}

/// The model's struct: one public field per layer it owns, with the layer's doc comments.
pub(crate) fn struct_decl(def: &ModelDef, g: &Graph, plan: &Plan) -> TokenStream {
    let p = private();
    let (name, vis, attrs) = (&def.name, &def.vis, &def.attrs);
    let owned: Vec<usize> = (0..plan.names.len()).filter(|&i| plan.owns(i)).collect();
    let docs: Vec<&Vec<syn::Attribute>> = owned.iter().map(|&i| &g.nodes[i].docs).collect();
    let fields: Vec<&syn::Ident> = owned.iter().map(|&i| &plan.names[i]).collect();
    let types: Vec<&TokenStream> = owned.iter().map(|&i| &plan.types[i]).collect();
    quote! {
        #(#attrs)*
        #vis struct #name<B: #p::Backend> {
            #( #(#docs)* pub #fields: #types, )*
            #[doc(hidden)]
            pub __backend: ::core::marker::PhantomData<fn() -> B>,
        }
    }
}

/// The initialiser of node `i`'s field.
pub(crate) fn init_expr(g: &Graph, plan: &Plan, i: usize) -> TokenStream {
    let p = private();
    let ty = &plan.types[i];
    match &g.nodes[i].op {
        Op::Builtin(k) if plan.per_step[i] => {
            let inner = k.init(&k.ty());
            quote!(#p::layers::PerStep::new(#inner))
        }
        Op::Builtin(k) => k.init(ty),
        _ => quote!(<#ty as #p::Init<B>>::init(dev, &mut rng)),
    }
}

/// The model at its declared input: struct, cache, aliases, inherent methods, `Layer`, `Init`
/// and `Module`.
fn fixed_model(def: &ModelDef, g: &Graph, shapes: &Shapes) -> TokenStream {
    let plan = Plan::new(g, shapes);
    let passes = passes(g, &plan);
    let input_desc = format!(
        "[batch, {}]",
        shapes.inputs[0]
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|&d| crate::model::infer::fmt_size(d))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let names = Names {
        name: def.name.clone(),
        cache: format_ident!("{}Cache", def.name),
        accepts: format_ident!("{}AcceptsInput", def.name),
        input_desc,
        s0: plan.value_type(NodeRef::Input(0)),
        sn: plan.value_type(g.output()),
    };
    let declarations = declarations(def, g, &plan, &names);
    let inherent = inherent_impl(g, &plan, &names);
    let layer = layer_impl(&plan, &names, &passes, &input_checks(g, &plan));
    let (name, p) = (&names.name, private());
    let described = described_at(&plan, &names, quote!(Self::graph(self)));
    let module = crate::module_visitor::module_impl(
        quote!(impl<B: #p::Backend> #p::Module<B> for #name<B>),
        &quote!(B),
        &plan.named_fields(),
    );
    let debug = debug::debug_impl(g, &plan, name);
    respan(
        quote!(#declarations #inherent #layer #described #module #debug),
        Some(anchor(g, &plan, name)),
    )
}

/// The struct, its cache, the input and output aliases, the input marker trait, and the checks
/// of stated custom outputs.
fn declarations(def: &ModelDef, g: &Graph, plan: &Plan, n: &Names) -> TokenStream {
    let p = private();
    let Names { name, accepts, input_desc, s0, sn, .. } = n;
    let (vis, names) = (&def.vis, &plan.names);
    let decl = struct_decl(def, g, plan);
    let input_alias = format_ident!("{}Input", name);
    let output_alias = format_ident!("{}Output", name);
    let cache_doc =
        format!("What `{name}::forward_train` keeps for `{name}::backward`: one cache per layer.");
    let cache_decl = cache_struct(vis, plan, n, Some(cache_doc));
    let input_doc = format!("Input tensor of `{name}`: shape {input_desc}.");
    let output_doc = format!("Output tensor of `{name}`.");
    let accepts_doc = format!(
        "Implemented by a borrow of the one tensor type `{name}` accepts ({input_desc}); its failure message names the model and the shape it expects."
    );
    let accepts_message = format!("model `{name}` on `{{B}}` expects input {input_desc}");
    let accepts_label = format!(
        "this is not a tensor of shape {input_desc} on `{{B}}` (check the shape, the backend and its element type)"
    );
    let accepts_items = multi_inputs::accepts_trait(
        vis,
        accepts,
        [&accepts_doc, &accepts_message, &accepts_label],
        s0,
    );
    // For each custom layer whose output the model states: a function that only compiles when
    // the layer takes its input and its `Output` is the stated shape.
    let stated_checks: Vec<TokenStream> = (0..names.len())
        .filter(|&i| plan.calls[i].retype)
        .map(|i| {
            let (output, out) = (plan.qual(i, quote!(Output)), &plan.output_types[i]);
            let input_ty = plan.at_user(i, quote!(#p::Tensor<#output, B>));
            let check = format_ident!("__{}_output_is_as_stated", names[i]);
            quote! {
                #[allow(dead_code, non_snake_case, clippy::all)]
                fn #check<B: #p::Backend>(y: #input_ty) -> #p::Tensor<#out, B> {
                    y
                }
            }
        })
        .collect();
    quote! {
        #decl

        #cache_decl

        #[doc = #input_doc]
        #vis type #input_alias<B> = #p::Tensor<#s0, B>;

        #accepts_items

        const _: () = { #( #stated_checks )* };

        #[doc = #output_doc]
        #vis type #output_alias<B> = #p::Tensor<#sn, B>;
    }
}

/// `new`, `forward`, `forward_train`, `backward`, `num_params`, `graph`, `summary`.
fn inherent_impl(g: &Graph, plan: &Plan, n: &Names) -> TokenStream {
    let p = private();
    let Names { name, cache, accepts, s0, sn, .. } = n;
    let (names, where_clauses) = (&plan.names, &plan.where_clauses);
    let (constructor, init) = (constructor(g, plan), init_impl(name, where_clauses));
    // The bound on `forward`'s argument keeps the user's span (see `respan`).
    let keep = format_ident!("{}", KEEP_SPANS);
    let accepts_bound = {
        let bound = with_span(quote!(&'x X: #accepts<B>), name.span());
        quote!(#keep(#bound))
    };
    let cache_ty = quote!(#cache<B>);
    // The cache's size depends on every layer's cache type: with a custom layer whose stated
    // output is used unchecked, spanned at that layer's name like its other uses.
    let train_ret = match (0..names.len()).find(|&i| plan.calls[i].retype) {
        Some(i) => plan.at_user(i, quote!((#p::Tensor<#sn, B>, #cache_ty))),
        None => quote!((#p::Tensor<#sn, B>, #cache_ty)),
    };
    let described = described(&describe::graph_expr(g, plan, &g.shown));
    quote! {
        impl<B: #p::Backend> #name<B> where #(#where_clauses,)* {
            #constructor

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

            /// [`Self::backward`] that also returns the gradient of the model's input
            /// (`(∂L/∂x, parameter gradients)`): what a GAN's generator step or an adversarial
            /// example needs from the model it feeds.
            pub fn backward_with_input(
                &self,
                cache: &#cache_ty,
                dy: &#p::Tensor<#sn, B>,
            ) -> #p::Result<(#p::Tensor<#s0, B>, Self)> {
                <Self as #p::Layer<#s0, B>>::backward(self, cache, dy)
            }

            #described
        }

        impl<B: #p::Backend> #p::Described for #name<B> where #(#where_clauses,)* {
            fn graph(&self) -> #p::Graph {
                Self::graph(self)
            }
        }

        #init
    }
}

/// `impl Layer<Input, B> for Name<B>`: the passes.
fn layer_impl(
    plan: &Plan,
    n: &Names,
    passes: &Passes,
    input_checks: &[TokenStream],
) -> TokenStream {
    let p = private();
    let Names { name, cache, s0, sn, .. } = n;
    let (names, where_clauses) = (&plan.names, &plan.where_clauses);
    let Passes {
        forward,
        forward_train,
        backward,
        backward_params,
        backward_ready,
        output,
        input_grad,
        ..
    } = passes;
    let (cs, fields) = (&passes.caches, plan.fields());
    let gs: Vec<&syn::Ident> =
        (0..names.len()).filter(|&i| plan.owns(i)).map(|i| &passes.param_grads[i]).collect();
    let cache_inits: Vec<TokenStream> = (0..names.len())
        .map(|i| {
            let (field, c) = (&names[i], &cs[i]);
            plan.at_user(i, quote!(#field: #c))
        })
        .collect();
    let cache_ty = quote!(#cache<B>);
    quote! {
        impl<B: #p::Backend> #p::Layer<#s0, B> for #name<B> where #(#where_clauses,)* {
            type Output = #sn;
            type Cache = #cache_ty;

            fn forward(&self, in0: &#p::Tensor<#s0, B>) -> #p::Tensor<#sn, B> {
                #( #forward )*
                #output
            }

            fn check_input(&self, in0: &#p::Tensor<#s0, B>) -> #p::Result<()> {
                #( #input_checks )*
                Ok(())
            }

            fn forward_train(&mut self, in0: &#p::Tensor<#s0, B>) -> (#p::Tensor<#sn, B>, #cache_ty) {
                #( #forward_train )*
                (#output, #cache { #( #cache_inits, )* __backend: ::core::marker::PhantomData })
            }

            fn backward(
                &self,
                cache: &#cache_ty,
                dy: &#p::Tensor<#sn, B>,
            ) -> #p::Result<(#p::Tensor<#s0, B>, Self)> {
                #( #backward )*
                Ok((#input_grad, Self { #( #fields: #gs, )* __backend: ::core::marker::PhantomData }))
            }

            fn backward_params(&self, cache: &#cache_ty, dy: &#p::Tensor<#sn, B>) -> #p::Result<Self> {
                #( #backward_params )*
                Ok(Self { #( #fields: #gs, )* __backend: ::core::marker::PhantomData })
            }

            fn backward_params_ready(
                &self,
                cache: &#cache_ty,
                dy: &#p::Tensor<#sn, B>,
                ready: &mut #p::GradReady<'_, B>,
            ) -> #p::Result<Self> {
                #( #backward_ready )*
                Ok(Self { #( #fields: #gs, )* __backend: ::core::marker::PhantomData })
            }
        }
    }
}
