//! Pairs of consecutive layers that expansion runs as one pass ([`Fusion::pair`]): an
//! `Embedding` read by nothing but a recurrent layer (`Lstm`, `Gru`, `Rnn`) runs as
//! `layers::embedding_recurrent`, which projects the table once instead of every token; a
//! `BatchNorm` read by nothing but a `Relu` runs as `layers::batch_norm_relu`, one pass over
//! the values each way instead of two. Both layers keep their fields, parameters, caches and
//! summary lines; only the generated calls change.

use crate::model::ir::{Graph, NodeRef, Op};
use crate::model::kinds::Fusion;

use super::plan::Plan;

/// For each node, the node fused into it as its first half (`Some(i)` at the recurrent layer
/// `j` reading embedding `i`); for each node, the node it is the first half of; and for each
/// second half, the `layers` module that runs the pair.
pub(crate) struct Fused {
    pub first_of: Vec<Option<usize>>,
    pub second_of: Vec<Option<usize>>,
    pub module: Vec<Option<&'static str>>,
}

impl Fused {
    /// No pairs.
    pub fn none(n: usize) -> Fused {
        Fused { first_of: vec![None; n], second_of: vec![None; n], module: vec![None; n] }
    }

    /// The fusable pairs of `g`: a kind whose value only the kind right after it reads (not a
    /// model output), the two a pair of [`Fusion::pair`], neither layer used twice nor
    /// wrapped, both shapes known.
    pub fn new(g: &Graph, plan: &Plan, known: impl Fn(usize) -> bool) -> Fused {
        let n = g.nodes.len();
        let mut f = Fused::none(n);
        let fusion = |i: usize| match &g.nodes[i].op {
            Op::Builtin(k) => k.fusion(),
            _ => Fusion::None,
        };
        let reused = |i: usize| (0..n).any(|k| k != i && plan.owner[k] == i);
        for j in 1..n {
            let i = j - 1;
            let single_reader = (0..n)
                .filter(|&k| g.nodes[k].inputs.contains(&NodeRef::Node(i)))
                .eq(std::iter::once(j));
            let module = Fusion::pair(fusion(i), fusion(j));
            if module.is_some()
                && g.nodes[j].inputs == [NodeRef::Node(i)]
                && single_reader
                && !g.outputs.contains(&NodeRef::Node(i))
                && plan.owns(i)
                && plan.owns(j)
                && !reused(i)
                && !reused(j)
                && !plan.per_step[i]
                && !plan.per_step[j]
                && !plan.calls[i].retype
                && !plan.calls[j].retype
                && known(i)
                && known(j)
                && f.first_of[i].is_none()
            {
                f.first_of[j] = Some(i);
                f.second_of[i] = Some(j);
                f.module[j] = module;
            }
        }
        f
    }
}
