//! Procedural macros for shapeflow: `model!`, `dim!` and `#[derive(Module)]`.
//!
//! Use them through the `shapeflow` facade crate; generated code names items through
//! `::shapeflow::__private`, so a user crate needs only `shapeflow` as a dependency.
//! Each macro parses into an IR, validates it (collecting every error, each spanned at the
//! user's token) and only then expands.

mod derive_common;
mod derive_init;
mod derive_module;
mod dim;
mod model;
mod module_visitor;

use proc_macro::TokenStream;

/// A static dimension for a literal: `dim!(3136)` is `Const<3136>`, the type `model!` uses.
///
/// ```
/// use shapeflow::{Const, Dim};
/// type Features = shapeflow::dim!(3136);
/// assert_eq!(<Features as Dim>::SIZE, Some(3136));
/// let _same: Features = Const::<3136>;
/// ```
#[proc_macro]
pub fn dim(input: TokenStream) -> TokenStream {
    dim::expand(input.into()).into()
}

/// Declares a model (a chain of layers, or a graph whose layers name what they read) whose
/// shapes are checked at compile time.
///
/// See the `shapeflow` crate documentation for the syntax and what is generated.
///
/// ```
/// use shapeflow::prelude::*;
/// model! {
///     /// A small classifier.
///     pub struct Net {
///         input: [1, 8, 8],
///         conv: Conv2d<1, 4, 3>,   // [4, 6, 6]
///         act: Relu,
///         flat: Flatten,           // [144]
///         fc: Linear<144, 2>,
///     }
/// }
/// let net = Net::<Cpu>::new(&Cpu::default(), 0);
/// assert_eq!(net.summary().rows[2].output, "[batch, 144]");
/// ```
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    model::expand(input.into()).into()
}

/// Derives `shapeflow::Module` (the named parameter visitor) for a user's own layer.
///
/// Every field is visited under its name unless marked `#[module(skip)]`; the backend is the
/// type parameter bounded by `Backend` (or named `B`).
///
/// ```
/// use shapeflow::prelude::*;
/// #[derive(Module)]
/// struct Affine<B: Backend> {
///     scale: Tensor<(Const<4>,), B>,
///     shift: Tensor<(Const<4>,), B>,
///     #[module(skip)]
///     calls: usize,
/// }
/// let dev = Cpu::default();
/// let a = Affine::<Cpu> { scale: Tensor::ones(&dev, &[4]).unwrap(), shift: Tensor::zeros(&dev, &[4]).unwrap(), calls: 0 };
/// assert_eq!(a.param_names(), ["scale", "shift"]);
/// assert_eq!(a.calls, 0);
/// ```
/// `Init` for a user's own layer: each tensor field starts as its `#[init(…)]` says (`ones`,
/// `zeros`, `uniform(bound)`), any other field by its own `Init`, or by `Default` with
/// `#[init(default)]`.
///
/// ```ignore
/// #[derive(Module, Init, Clone)]
/// pub struct ScaleShift<B: Backend> {
///     #[init(ones)]
///     pub scale: Tensor<(Const<4>,), B>,
///     #[init(zeros)]
///     pub shift: Tensor<(Const<4>,), B>,
/// }
/// ```
#[proc_macro_derive(Init, attributes(init))]
pub fn derive_init(input: TokenStream) -> TokenStream {
    derive_init::expand(input.into()).into()
}

#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    derive_module::expand(input.into()).into()
}
