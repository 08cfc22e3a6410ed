//! Checkpoints as safetensors with PyTorch's `state_dict` names and layouts (Linear weight
//! `[out, in]`, conv weight `[out, in, kh, kw]`, batch-norm `running_mean`, `running_var`,
//! `num_batches_tracked`), so weights move between shapeflow and PyTorch both ways.
//!
//! Loading checks everything before changing anything: a missing or unexpected tensor, a wrong
//! shape or dtype, a truncated or corrupt file is an `Err` that names the file and the tensor.
//! Saving writes a temporary file, syncs it and renames it over the target, so an interrupted
//! save never damages the previous checkpoint.

mod file;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::backend::{Backend, Elem};
use crate::error::{Error, Result};
use crate::module::{Module, StateMut, StateRef};

pub use file::{Entry, parse_entries, read_entries, write_atomic, write_file_atomic};

/// Saves every parameter and buffer of `model` to `path` (safetensors, PyTorch names).
///
/// ```
/// use shapeflow_core::{Init, Rng, checkpoint, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let fc = Linear::<typenum::U3, typenum::U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let path = std::env::temp_dir().join("shapeflow-doc-linear.safetensors");
/// checkpoint::save(&fc, &path).unwrap();
/// let mut other = Linear::<typenum::U3, typenum::U2, Cpu>::init(&dev, &mut Rng::new(1));
/// checkpoint::load(&mut other, &path).unwrap();
/// assert_eq!(other.weight.to_vec(), fc.weight.to_vec());
/// ```
pub fn save<M: Module<B>, B: Backend>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    save_with_metadata(model, path, &BTreeMap::new())
}

/// [`save`] with extra string metadata in the safetensors header.
///
/// ```
/// use shapeflow_core::{Init, Rng, checkpoint, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let fc = Linear::<typenum::U2, typenum::U1, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
/// let path = std::env::temp_dir().join("shapeflow-doc-meta.safetensors");
/// checkpoint::save_with_metadata(&fc, &path, &[("note".to_string(), "demo".to_string())].into()).unwrap();
/// let (_, meta) = checkpoint::read_entries(&path).unwrap();
/// assert_eq!(meta["note"], "demo");
/// ```
pub fn save_with_metadata<M: Module<B>, B: Backend>(
    model: &M,
    path: impl AsRef<Path>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    write_atomic(path.as_ref(), &state_entries(model, ""), metadata)
}

/// The model's state as checkpoint entries, names prefixed with `prefix`.
pub fn state_entries<M: Module<B>, B: Backend>(model: &M, prefix: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    model.visit_state(&mut prefix.to_string(), &mut |name, e| {
        entries.push(match e {
            StateRef::Tensor(dims, s) => Entry::tensor::<B::Elem>(name, dims, &B::to_host(s)),
            StateRef::Count(c) => Entry::count(name, c),
        });
    });
    entries
}

/// Loads `path` into `model`; the file must hold exactly the model's tensors with the same
/// shapes and dtype. On any error the model is unchanged.
///
/// ```
/// use shapeflow_core::{Init, Rng, checkpoint, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let path = std::env::temp_dir().join("shapeflow-doc-load.safetensors");
/// checkpoint::save(&Linear::<typenum::U4, typenum::U2, Cpu>::init(&dev, &mut Rng::new(0)), &path).unwrap();
/// // A model of another shape: an error that names the tensor and both shapes.
/// let mut wrong = Linear::<typenum::U4, typenum::U3, Cpu>::init(&dev, &mut Rng::new(0));
/// let e = checkpoint::load(&mut wrong, &path).unwrap_err().to_string();
/// assert!(e.contains("`weight` has shape [2, 4] but the model expects [3, 4]"), "{e}");
/// ```
pub fn load<M: Module<B>, B: Backend>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let (entries, _) = read_entries(path)?;
    load_entries(model, &entries, "", path, true)
}

/// [`load`] from a file's bytes already in memory (a checkpoint a web page fetched); `name`
/// stands for the file in messages. On any error the model is unchanged.
///
/// ```
/// use shapeflow_core::{Init, Rng, checkpoint, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut fc = Linear::<typenum::U4, typenum::U2, Cpu>::init(&dev, &mut Rng::new(0));
/// let e = checkpoint::load_bytes(&mut fc, b"not a checkpoint", "model.safetensors").unwrap_err();
/// assert!(e.to_string().starts_with("model.safetensors: not a valid safetensors file"), "{e}");
/// ```
pub fn load_bytes<M: Module<B>, B: Backend>(model: &mut M, bytes: &[u8], name: &str) -> Result<()> {
    let (entries, _) = parse_entries(bytes, name)?;
    load_entries(model, &entries, "", Path::new(name), true)
}

/// Fills `model` from `entries` (names prefixed with `prefix`). With `exact`, entries with this
/// prefix that the model does not have are an error.
pub fn load_entries<M: Module<B>, B: Backend>(
    model: &mut M,
    entries: &HashMap<String, Entry>,
    prefix: &str,
    path: &Path,
    exact: bool,
) -> Result<()> {
    let file = path.display().to_string();
    let fmt = |message: String| Error::Format { path: file.clone(), message };
    // Pass 1: check every entry and stage the new values.
    let mut staged: Vec<Staged<B>> = Vec::new();
    let mut first_error: Option<Error> = None;
    let mut seen = Vec::new();
    model.visit_state(&mut prefix.to_string(), &mut |name, e| {
        if first_error.is_some() {
            return;
        }
        seen.push(name.to_string());
        let Some(entry) = entries.get(name) else {
            first_error = Some(fmt(format!("missing tensor `{name}`")));
            return;
        };
        let result = match e {
            StateRef::Tensor(dims, _) => entry.values::<B::Elem>(name, dims).map(Staged::Tensor),
            StateRef::Count(_) => entry.count_value(name).map(Staged::Count),
        };
        match result {
            Ok(v) => staged.push(v),
            Err(m) => first_error = Some(fmt(m)),
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    if exact {
        let mut unexpected: Vec<&String> =
            entries.keys().filter(|k| k.starts_with(prefix) && !seen.contains(k)).collect();
        unexpected.sort();
        if !unexpected.is_empty() {
            let list: Vec<String> = unexpected.iter().map(|k| format!("`{k}`")).collect();
            return Err(fmt(format!("unexpected tensors for this model: {}", list.join(", "))));
        }
    }
    // Pass 2: everything checked; write.
    let mut staged = staged.into_iter();
    model.visit_state_mut(&mut prefix.to_string(), &mut |_, e| match (e, staged.next()) {
        (StateMut::Tensor(_, s), Some(Staged::Tensor(v))) => *s = B::upload_like(s, &v),
        (StateMut::Count(c), Some(Staged::Count(v))) => *c = v,
        _ => {}
    });
    Ok(())
}

enum Staged<B: Backend> {
    Tensor(Vec<B::Elem>),
    Count(u64),
}

impl Entry {
    /// The entry's values as `E`, checking dtype and shape.
    pub(crate) fn values<E: Elem>(
        &self,
        name: &str,
        dims: &[usize],
    ) -> std::result::Result<Vec<E>, String> {
        if self.dtype != E::SAFETENSORS_DTYPE {
            return Err(format!(
                "tensor `{name}` has dtype {} but the model computes in {} (expected {})",
                self.dtype,
                E::NAME,
                E::SAFETENSORS_DTYPE
            ));
        }
        if self.shape != dims {
            return Err(format!(
                "tensor `{name}` has shape {:?} but the model expects {:?}",
                self.shape, dims
            ));
        }
        let n: usize = dims.iter().product();
        if self.data.len() != n * E::BYTES {
            return Err(format!(
                "tensor `{name}` holds {} bytes, expected {}",
                self.data.len(),
                n * E::BYTES
            ));
        }
        Ok(self.data.chunks_exact(E::BYTES).map(E::read_le).collect())
    }

    /// The entry as a counter (an `I64` scalar).
    pub(crate) fn count_value(&self, name: &str) -> std::result::Result<u64, String> {
        if self.dtype != "I64" || !self.shape.is_empty() || self.data.len() != 8 {
            return Err(format!(
                "`{name}` must be an I64 scalar, found dtype {} shape {:?}",
                self.dtype, self.shape
            ));
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.data);
        u64::try_from(i64::from_le_bytes(b)).map_err(|_| format!("`{name}` is negative"))
    }

    /// The entry as a generator state (a `U64` scalar).
    pub(crate) fn u64_value(&self, name: &str) -> std::result::Result<u64, String> {
        if self.dtype != "U64" || !self.shape.is_empty() || self.data.len() != 8 {
            return Err(format!(
                "`{name}` must be a U64 scalar, found dtype {} shape {:?}",
                self.dtype, self.shape
            ));
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.data);
        Ok(u64::from_le_bytes(b))
    }
}
