//! `PositionEmbedding<max_len, embed_dim>` (learned) and `SinusoidalPositions` (fixed):
//! `[seq, embed_dim] → [seq, embed_dim]`, each step's position added.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Attr, Kind, KindDef, Out, Steps, private, size_type};
use crate::model::args::size;
use crate::model::infer::{Site, fmt_shape, is_seq};

pub(crate) const POSITION_EMBEDDING: KindDef = KindDef {
    name: "PositionEmbedding",
    params: &[size("max_len"), size("embed_dim")],
    build: |b, _| {
        let a = &b.args;
        Some(Box::new(Positions { learned: Some((a.size(0), a.spanned(1))) }))
    },
};

pub(crate) const SINUSOIDAL_POSITIONS: KindDef = KindDef {
    name: "SinusoidalPositions",
    params: &[],
    build: |_, _| Some(Box::new(Positions { learned: None })),
};

struct Positions {
    /// `max_len` and `embed_dim` (with its span) of a learned table.
    learned: Option<(usize, (usize, Span))>,
}

impl Kind for Positions {
    fn name(&self) -> &'static str {
        if self.learned.is_some() { POSITION_EMBEDDING.name } else { SINUSOIDAL_POSITIONS.name }
    }
    fn steps(&self) -> Steps {
        Steps::Sequence
    }
    fn infer(&self, site: &mut Site<'_>, shape: &[usize]) -> Option<Out> {
        let (name, prev) = (site.name().clone(), site.prev().to_string());
        if !is_seq(shape) || shape.len() != 2 {
            site.err(
                name.span(),
                format!(
                    "`{name}` ({}) adds positions to a sequence [seq, features] but `{prev}` produces {}",
                    self.name(),
                    fmt_shape(shape)
                ),
            );
            return None;
        }
        if let Some((max, (width, span))) = self.learned
            && width != shape[1]
        {
            site.err(
                span,
                format!(
                    "`{name}` expects {width} features per step but `{prev}` produces {}\n  = help: write `{name}: PositionEmbedding<{max}, {}>`",
                    shape[1], shape[1]
                ),
            );
        }
        Some(Out::same(site, shape))
    }
    fn ty(&self) -> TokenStream {
        let p = private();
        match self.learned {
            Some((max, (width, _))) => {
                let (m, e) = (size_type(max), size_type(width));
                quote!(#p::layers::PositionEmbedding<#m, #e, B>)
            }
            None => quote!(#p::layers::SinusoidalPositions),
        }
    }
    fn describe(&self) -> String {
        match self.learned {
            Some((max, (width, _))) => format!("PositionEmbedding<{max}, {width}>"),
            None => self.name().to_string(),
        }
    }
    fn attrs(&self) -> Vec<(&'static str, Attr)> {
        match self.learned {
            Some((max, (width, _))) => {
                vec![("max_len", Attr::Int(max)), ("embed_dim", Attr::Int(width))]
            }
            None => Vec::new(),
        }
    }
}
