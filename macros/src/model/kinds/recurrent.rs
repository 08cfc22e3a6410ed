//! The recurrent kinds `Lstm`, `Gru`, `Rnn` (tanh) and `RnnRelu`, each
//! `<input_size, hidden_size, num_layers = 1, bidirectional = false>`:
//! `[seq, input_size] → [seq, hidden_size]` (`2·hidden_size` when bidirectional), PyTorch's
//! `nn.LSTM` / `nn.GRU` / `nn.RNN(batch_first=True)` over each sample's own length.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Attr, Fusion, Kind, KindDef, Out, Steps, private, size_type};
use crate::model::args::{flag, size, size_or};
use crate::model::infer::{SEQ, Site, fmt_shape, is_seq};

/// The note a bidirectional recurrent layer's output carries, which `LastStep` reads.
pub(crate) const BIDIRECTIONAL: &str = "forward and reverse directions side by side";

/// A recurrent kind named `$name`.
macro_rules! recurrent {
    ($def:ident, $name:literal) => {
        pub(crate) const $def: KindDef = KindDef {
            name: $name,
            params: &[
                size("input_size"),
                size("hidden_size"),
                size_or("num_layers", 1.0),
                flag("bidirectional", false),
            ],
            build: |b, _| {
                let a = &b.args;
                Some(Box::new(Recurrent {
                    kind: $name,
                    input: a.spanned(0),
                    hidden: a.size(1),
                    layers: a.size(2),
                    bidirectional: a.flag(3),
                }))
            },
        };
    };
}
recurrent!(LSTM, "Lstm");
recurrent!(GRU, "Gru");
recurrent!(RNN, "Rnn");
recurrent!(RNN_RELU, "RnnRelu");

struct Recurrent {
    kind: &'static str,
    input: (usize, Span),
    hidden: usize,
    layers: usize,
    bidirectional: bool,
}

impl Recurrent {
    fn output(&self) -> usize {
        self.hidden * if self.bidirectional { 2 } else { 1 }
    }
    fn args(&self, features: usize) -> String {
        let mut s = format!("{features}, {}", self.hidden);
        if self.layers != 1 {
            s += &format!(", num_layers = {}", self.layers);
        }
        if self.bidirectional {
            s += ", bidirectional = true";
        }
        s
    }
}

impl Kind for Recurrent {
    fn name(&self) -> &'static str {
        self.kind
    }
    fn steps(&self) -> Steps {
        Steps::Sequence
    }
    fn fusion(&self) -> Fusion {
        Fusion::TableReader
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev) = (site.name().clone(), site.prev().to_string());
        if !is_seq(shape) || shape.len() != 2 {
            let help = if is_seq(shape) {
                String::new()
            } else {
                // The steps become the runtime `seq`; each step keeps this layer's input size.
                super::sequence_input_help(self.input.0)
            };
            site.err(
                self.input.1,
                format!(
                    "`{name}` ({}) runs over a sequence of feature vectors [seq, features] but `{prev}` produces {}{help}",
                    self.kind,
                    fmt_shape(shape)
                ),
            );
            return None;
        }
        if shape[1] != self.input.0 {
            // An `Embedding<V, D>` whose arguments look swapped (its table has as many rows as
            // this layer has input features): name both readings.
            let swapped = match site.prev_table() {
                Some((rows, width)) if rows == self.input.0 && width == shape[1] => format!(
                    ", or, if `{prev}` should hold {width} tokens of width {rows}, `{prev}: Embedding<{width}, {rows}>` (num_embeddings, then embedding_dim)"
                ),
                _ => String::new(),
            };
            site.err(
                self.input.1,
                format!(
                    "`{name}` expects {} input features per step but `{prev}` produces {}\n  = help: write `{name}: {}<{}>`{swapped}",
                    self.input.0,
                    shape[1],
                    self.kind,
                    self.args(shape[1])
                ),
            );
        }
        let note = self.bidirectional.then(|| BIDIRECTIONAL.to_string());
        Some(Out { shape: vec![SEQ, self.output()], note })
    }
    fn ty(&self) -> TokenStream {
        let p = private();
        let (i, h, o) = (size_type(self.input.0), size_type(self.hidden), size_type(self.output()));
        let (layers, kind) = (self.layers, quote::format_ident!("{}", self.kind));
        quote!(#p::layers::#kind<#i, #h, #o, #layers, B>)
    }
    fn describe(&self) -> String {
        format!("{}<{}>", self.kind, self.args(self.input.0))
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        vec![
            ("input_size", Attr::Int(self.input.0)),
            ("hidden_size", Attr::Int(self.hidden)),
            ("num_layers", Attr::Int(self.layers)),
            ("bidirectional", Attr::Flag(self.bidirectional)),
        ]
    }
}
