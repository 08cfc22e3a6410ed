//! A sequence of built-in layers as one node (`downsample: (Conv2d<64, 128, 1, stride = 2>,
//! BatchNorm2d<128>)(x)`), PyTorch's `nn.Sequential`: lowered to one node per layer, named
//! `downsample_0`, `downsample_1` in Rust and `downsample.0`, `downsample.1` in parameter
//! paths (`downsample.0.weight`, as torchvision's). What reads `downsample` reads its last
//! layer. A sequence of models only (`layer1: (BasicBlock, BasicBlock)`) stays one node.

use syn::Ident;

use super::kinds;
use super::parse::{KindDecl, LayerDecl, ModelDef};

/// Replaces each sequence that holds a built-in layer by its layers, one node each.
pub(crate) fn unfold(def: &mut ModelDef) {
    let mut i = 0;
    while i < def.layers.len() {
        let KindDecl::Sequence { items } = &def.layers[i].kind else {
            i += 1;
            continue;
        };
        if !items.iter().any(|it| kinds::lookup(&it.kind).is_some()) {
            i += 1;
            continue;
        }
        let seq = def.layers.remove(i);
        let KindDecl::Sequence { items } = seq.kind else { continue };
        let count = items.len();
        let name_at = |k: usize| Ident::new(&format!("{}_{k}", seq.name), seq.name.span());
        for (k, item) in items.into_iter().enumerate() {
            let layer = LayerDecl {
                docs: if k == 0 { seq.docs.clone() } else { Vec::new() },
                name: name_at(k),
                kind: KindDecl::Builtin { kind: item.kind, args: item.args, span: item.span },
                inputs: if k == 0 { seq.inputs.clone() } else { None },
                when: None,
                param_name: Some(format!("{}.{k}", seq.name)),
            };
            def.layers.insert(i + k, layer);
        }
        def.rename_reads(i + count, &seq.name, &name_at(count - 1));
        i += count;
    }
}
