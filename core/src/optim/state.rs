//! Per-parameter optimizer buffers, allocated in the model's visiting order.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::module::Module;

/// One zero buffer per parameter of `model`, in visiting order.
pub(crate) fn zero_buffers<M: Module<B>, B: Backend>(model: &M) -> Vec<B::Storage> {
    let mut out = Vec::new();
    model.visit_params(&mut String::new(), &mut |_, dims, s| {
        out.push(B::zeros_like(s, dims.iter().product()));
    });
    out
}

/// Walks parameters and gradients with the optimizer's `K` buffer sets; `update` gets
/// `(param, grad, buffer_sets, index)`, the index of this parameter in every set, whose sizes
/// have been checked so a kernel never sees a mismatch. `path` is reused scratch for the names
/// (no allocation once it has grown).
pub(crate) fn for_each_param<M: Module<B>, B: Backend, const K: usize>(
    model: &mut M,
    grads: &M,
    buffers: &mut [Vec<B::Storage>; K],
    path: &mut String,
    mut update: impl FnMut(&mut B::Storage, &B::Storage, &mut [Vec<B::Storage>; K], usize),
) -> Result<()> {
    let mut index = 0usize;
    let mut error: Option<Error> = None;
    path.clear();
    model.visit_params_with_grads(grads, path, &mut |name, p, g| {
        if error.is_some() {
            return;
        }
        let len = B::len(p);
        if B::len(g) != len {
            error = Some(Error::Length { what: format!("gradient of `{name}`"), expected: len, got: B::len(g) });
            return;
        }
        if buffers.iter().any(|set| set.get(index).is_none_or(|b| B::len(b) != len)) {
            error = Some(Error::Shape(format!(
                "optimizer state for `{name}` does not match the parameter (was the optimizer built for this model?)"
            )));
            return;
        }
        update(p, g, buffers, index);
        index += 1;
    });
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

use std::collections::HashMap;

use crate::checkpoint::Entry;

/// Checkpoint entries for buffer sets: `optimizer.{name}.{index}`, plus the step counter.
pub(crate) fn buffer_entries<B: Backend>(
    step: u64,
    sets: &[(&str, &Vec<B::Storage>)],
) -> Vec<Entry> {
    let mut out = vec![Entry::count("optimizer.step", step)];
    for (name, set) in sets {
        for (i, s) in set.iter().enumerate() {
            let v = B::to_host(s);
            out.push(Entry::tensor::<B::Elem>(&format!("optimizer.{name}.{i}"), &[v.len()], &v));
        }
    }
    out
}

/// Reads back [`buffer_entries`]: every buffer must be present with its length and dtype.
pub(crate) fn load_buffers<B: Backend>(
    entries: &HashMap<String, Entry>,
    sets: &mut [(&str, &mut Vec<B::Storage>)],
) -> std::result::Result<u64, String> {
    let step = entries
        .get("optimizer.step")
        .ok_or("missing `optimizer.step`")?
        .count_value("optimizer.step")?;
    let mut staged: Vec<Vec<Vec<B::Elem>>> = Vec::new();
    for (name, set) in sets.iter() {
        let mut values = Vec::new();
        for (i, s) in set.iter().enumerate() {
            let key = format!("optimizer.{name}.{i}");
            let e = entries.get(&key).ok_or_else(|| format!("missing `{key}`"))?;
            values.push(e.values::<B::Elem>(&key, &[B::len(s)])?);
        }
        staged.push(values);
    }
    for ((_, set), values) in sets.iter_mut().zip(staged) {
        for (s, v) in set.iter_mut().zip(values) {
            *s = B::upload_like(s, &v);
        }
    }
    Ok(step)
}
