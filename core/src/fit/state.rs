//! Training checkpoints: model state, optimizer state, dropout counters, the shuffling
//! generator, the epoch and the history, in one safetensors file (written atomically).

use std::collections::BTreeMap;
use std::path::Path;

use crate::backend::Backend;
use crate::checkpoint::{self, Entry};
use crate::error::{Error, Result};
use crate::module::Module;
use crate::optim::Optimizer;

use super::history::History;

pub(crate) struct Resumed {
    pub epoch: usize,
    pub rng: u64,
    pub history: History,
    /// Ranks of the data-parallel run that wrote it (1 for a single process).
    pub world: usize,
}

pub(crate) fn save<M: Module<B>, B: Backend, O: Optimizer<M> + ?Sized>(
    path: &Path,
    model: &mut M,
    opt: &O,
    epoch: usize,
    rng: u64,
    history: &History,
    world: usize,
) -> Result<()> {
    let mut entries = checkpoint::state_entries(model, "model");
    entries.extend(opt.state_entries());
    model.visit_rng(&mut "rng".to_string(), &mut |name, c| entries.push(Entry::u64(name, *c)));
    let meta: BTreeMap<String, String> = [
        ("epoch".to_string(), epoch.to_string()),
        ("shuffle_rng".to_string(), rng.to_string()),
        ("lr".to_string(), format!("{:e}", opt.lr())),
        ("history".to_string(), history.to_json()),
        ("world".to_string(), world.to_string()),
    ]
    .into();
    checkpoint::write_atomic(path, &entries, &meta)
}

/// Restores a training checkpoint from its bytes (read by rank 0 and broadcast, in
/// data-parallel training); `path` names it in messages.
pub(crate) fn load<M: Module<B>, B: Backend, O: Optimizer<M> + ?Sized>(
    bytes: &[u8],
    path: &Path,
    model: &mut M,
    opt: &mut O,
) -> Result<Resumed> {
    let file = path.display().to_string();
    let fmt = |message: String| Error::Format { path: file.clone(), message };
    let (entries, meta) = checkpoint::parse_entries(bytes, &file)?;
    let get = |k: &str| {
        meta.get(k).ok_or_else(|| fmt(format!("not a training checkpoint: no `{k}` metadata")))
    };
    let epoch = get("epoch")?.parse::<usize>().map_err(|e| fmt(format!("bad epoch: {e}")))?;
    let rng =
        get("shuffle_rng")?.parse::<u64>().map_err(|e| fmt(format!("bad generator state: {e}")))?;
    let lr = get("lr")?.parse::<f64>().map_err(|e| fmt(format!("bad learning rate: {e}")))?;
    let history = History::from_json(get("history")?).map_err(|e| fmt(e.to_string()))?;
    // Checkpoints from before data-parallel training have no `world`: one process.
    let world = match meta.get("world") {
        Some(w) => w.parse::<usize>().map_err(|e| fmt(format!("bad world size: {e}")))?,
        None => 1,
    };
    // Check the generator states before changing anything.
    let mut probe_error = None;
    model.visit_rng(&mut "rng".to_string(), &mut |name, _| {
        let state = entries.get(name).ok_or_else(|| format!("missing generator state `{name}`"));
        if let Err(m) = state.and_then(|e| e.u64_value(name))
            && probe_error.is_none()
        {
            probe_error = Some(fmt(m));
        }
    });
    if let Some(e) = probe_error {
        return Err(e);
    }
    checkpoint::load_entries(model, &entries, "model", path, false)?;
    opt.load_state(&entries).map_err(fmt)?;
    opt.set_lr(lr);
    model.visit_rng(&mut "rng".to_string(), &mut |name, c| {
        if let Some(Ok(v)) = entries.get(name).map(|e| e.u64_value(name)) {
            *c = v;
        }
    });
    Ok(Resumed { epoch, rng, history, world })
}
