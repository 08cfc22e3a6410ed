//! Built-in layer kinds. Everything `model!` knows about one kind — its parameters and
//! defaults, its shape rule and error wording, its generated type and initialiser, its summary
//! text and its attributes in `graph()` — lives in that kind's file here, behind [`Kind`]; the
//! generic passes (argument resolution, shape inference, expansion) only call the trait. A new
//! kind is one file and one line in [`REGISTRY`].

mod activation;
mod attention;
mod batch_norm;
mod conv;
mod dropout;
mod embedding;
mod flatten;
mod global_avg_pool;
mod layer_norm;
mod linear;
mod merge;
mod narrow;
mod pool;
mod positions;
mod recurrent;
mod softmax;
mod time_pool;

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use super::args::{Args, ParamSpec};
use super::infer::Site;

/// A kind's output for one input: the per-sample shape and, optionally, a note on how it came
/// about that later errors quote ("the flattened [16, 4, 4] of `pool2`").
pub(crate) struct Out {
    pub shape: Vec<usize>,
    pub note: Option<String>,
}

impl Out {
    /// A new shape with no note.
    pub fn new(shape: Vec<usize>) -> Self {
        Out { shape, note: None }
    }
    /// The input passed through unchanged, with its note.
    pub fn same(site: &Site<'_>, input: &[usize]) -> Self {
        Out { shape: input.to_vec(), note: site.note().map(str::to_string) }
    }
}

/// An attribute value in the run-time graph (`model.graph()`).
pub(crate) enum Attr {
    Int(usize),
    Real(f64),
    Flag(bool),
}

/// How a kind treats a sequence input `[seq, …]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Steps {
    /// One vector per sample only: an error on a sequence, naming the reductions.
    Sample,
    /// Applied at each step, by the layer itself (activations, dropout, layer norm).
    Each,
    /// Applied at each step through `PerStep<…>` (`Linear`).
    EachWrapped,
    /// Over the steps, reading each sample's length (`Lstm`, `Embedding`, `LastStep`).
    Sequence,
}

/// A kind's part in a pair of layers that expansion runs as one fused pass (`expand/fuse.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Fusion {
    /// Runs on its own.
    None,
    /// A lookup table (`Embedding`): a `TableReader` reading only it runs both.
    Table,
    /// A layer whose input projection of a looked-up row is a row of the table's projection
    /// (`Lstm`, `Gru`, `Rnn`; `layers::embedding_recurrent`).
    TableReader,
    /// Batch normalisation: a `Rectifier` reading only it runs both.
    Normalizer,
    /// `Relu`, whose forward and backward fold into the batch norm's passes
    /// (`layers::batch_norm_relu`).
    Rectifier,
}

impl Fusion {
    /// The `layers` module that runs a `first` → `second` pair as one, if they fuse.
    pub(crate) fn pair(first: Fusion, second: Fusion) -> Option<&'static str> {
        match (first, second) {
            (Fusion::Table, Fusion::TableReader) => Some("embedding_recurrent"),
            (Fusion::Normalizer, Fusion::Rectifier) => Some("batch_norm_relu"),
            _ => None,
        }
    }
}

/// One resolved layer of a built-in kind.
pub(crate) trait Kind {
    /// The kind's name as the user writes it (`Conv2d`).
    fn name(&self) -> &'static str;
    /// The per-sample output shape for the per-sample `input`; `None` after reporting an error
    /// through `site` (later layers are then not checked against a guess).
    fn infer(&self, site: &mut Site<'_>, input: &[usize]) -> Option<Out>;
    /// The generated field type (`::shapeflow::__private::layers::Linear<Const<784>, Const<10>, B>`).
    fn ty(&self) -> TokenStream;
    /// The initialiser expression, with `dev: &B` and `rng: &mut Rng` in scope.
    fn init(&self, ty: &TokenStream) -> TokenStream {
        let p = private();
        quote!(<#ty as #p::Init<B>>::init(dev, &mut rng))
    }
    /// How the summary names the layer (`Conv2d<1, 6, 5, padding = 2>`).
    fn describe(&self) -> String;
    /// Whether the layer is called through `LayerTo` with the output size `model!` computed
    /// (convolution, pooling, flatten) instead of `Layer`.
    fn sized(&self) -> bool {
        false
    }
    /// The attributes `model.graph()` reports (PyTorch's names).
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        Vec::new()
    }
    /// How many values the node reads: 1, or 2 for the merge kinds (`sum: Add(x, c2)`), which
    /// are called through `Merge` and give their shape rule in [`Kind::infer2`].
    fn arity(&self) -> usize {
        1
    }
    /// How the kind treats a sequence input.
    fn steps(&self) -> Steps {
        Steps::Sample
    }
    /// Whether the kind runs fused with the layer next to it (`Embedding` → `Lstm`,
    /// `BatchNorm2d` → `Relu`; [`Fusion::pair`]).
    fn fusion(&self) -> Fusion {
        Fusion::None
    }
    /// A lookup table's `(num_embeddings, embedding_dim)` (an `Embedding`), so that the layer
    /// after it can name both readings of swapped arguments.
    fn table(&self) -> Option<(usize, usize)> {
        None
    }
    /// The shape rule of a two-input kind, for inputs `a` and `b` (whose traces `site` carries).
    fn infer2(&self, site: &mut Site<'_>, a: &[usize], b: &[usize]) -> Option<Out> {
        let _ = b;
        self.infer(site, a)
    }
}

/// A kind's definition: its name, its parameters, and how resolved arguments become a layer.
pub(crate) struct KindDef {
    pub name: &'static str,
    pub params: &'static [ParamSpec],
    /// Validates the resolved arguments (beyond their types) and builds the layer; `None`
    /// after recording an error.
    pub build: fn(&Build<'_>, &mut Vec<syn::Error>) -> Option<Box<dyn Kind>>,
}

/// What a kind's `build` sees: the layer's name and its resolved arguments.
pub(crate) struct Build<'a> {
    pub layer: &'a Ident,
    pub args: Args,
}

/// Every built-in kind, in the order error messages list them.
pub(crate) const REGISTRY: &[&KindDef] = &[
    &linear::LINEAR,
    &conv::CONV2D,
    &conv::CONV1D,
    &pool::MAX_POOL2D,
    &pool::AVG_POOL2D,
    &global_avg_pool::GLOBAL_AVG_POOL2D,
    &flatten::FLATTEN,
    &batch_norm::BATCH_NORM1D,
    &batch_norm::BATCH_NORM2D,
    &dropout::DROPOUT2D,
    &activation::RELU,
    &activation::LEAKY_RELU,
    &activation::SIGMOID,
    &activation::TANH,
    &activation::GELU,
    &activation::GELU_TANH,
    &softmax::SOFTMAX,
    &softmax::LOG_SOFTMAX,
    &dropout::DROPOUT,
    &layer_norm::LAYER_NORM,
    &layer_norm::RMS_NORM,
    &merge::ADD,
    &merge::SUB,
    &merge::MUL,
    &merge::CONCAT,
    &narrow::NARROW,
    &embedding::EMBEDDING,
    &recurrent::LSTM,
    &recurrent::GRU,
    &recurrent::RNN,
    &recurrent::RNN_RELU,
    &time_pool::LAST_STEP,
    &time_pool::MEAN_OVER_TIME,
    &attention::MULTIHEAD_ATTENTION,
    &attention::CROSS_ATTENTION,
    &positions::POSITION_EMBEDDING,
    &positions::SINUSOIDAL_POSITIONS,
];

/// The kind named `name`.
pub(crate) fn lookup(name: &Ident) -> Option<&'static KindDef> {
    REGISTRY.iter().copied().find(|k| name == k.name)
}

/// "`Linear`, `Conv2d`, …" for the unknown-kind error.
pub(crate) fn known_kinds() -> String {
    REGISTRY.iter().map(|k| format!("`{}`", k.name)).collect::<Vec<_>>().join(", ")
}

/// The path generated code names items through.
pub(crate) fn private() -> TokenStream {
    quote!(::shapeflow::__private)
}

/// `Const<n>`.
pub(crate) fn size_type(n: usize) -> TokenStream {
    crate::dim::const_type(n as u64)
}

/// The help for a layer over sequences given a value that is not one: declare the input as a
/// sequence of `features`-wide steps (the steps become the runtime `seq`).
pub(crate) fn sequence_input_help(features: usize) -> String {
    format!(
        "\n  = help: a sequence input is declared with its runtime length first: `input: [seq, {features}]`"
    )
}
