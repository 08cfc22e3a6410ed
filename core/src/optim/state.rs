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

/// Walks parameters and gradients with each parameter's buffers; `update` gets
/// `(param, grad, buffers_of_this_param)`. Sizes are checked so a kernel never sees a mismatch.
pub(crate) fn for_each_param<M: Module<B>, B: Backend>(
    model: &mut M,
    grads: &M,
    buffers: &mut [Vec<B::Storage>],
    mut update: impl FnMut(&mut B::Storage, &B::Storage, &mut [&mut B::Storage]),
) -> Result<()> {
    let mut index = 0usize;
    let mut error: Option<Error> = None;
    model.visit_params_with_grads(grads, &mut String::new(), &mut |name, p, g| {
        if error.is_some() {
            return;
        }
        let len = B::len(p);
        if B::len(g) != len {
            error = Some(Error::Length { what: format!("gradient of `{name}`"), expected: len, got: B::len(g) });
            return;
        }
        let mut bufs: Vec<&mut B::Storage> = Vec::with_capacity(buffers.len());
        for set in buffers.iter_mut() {
            match set.get_mut(index) {
                Some(b) if B::len(b) == len => bufs.push(b),
                _ => {
                    error = Some(Error::Shape(format!(
                        "optimizer state for `{name}` does not match the parameter (was the optimizer built for this model?)"
                    )));
                    return;
                }
            }
        }
        update(p, g, &mut bufs);
        index += 1;
    });
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
