//! What every rank of a data-parallel run must agree on before its first collective that
//! depends on the model: the model's layout, the element type, the optimizer and the training
//! configuration. Each rank writes its values into its own row of a table whose size depends
//! only on the number of ranks, the table is summed over the ranks (one fixed-size all-reduce,
//! safe whatever the ranks were given), and every rank then reads every rank's values: any
//! difference is the same `Err` everywhere, naming the field and each rank's value.

use std::fmt::Display;

use super::DataParallel;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::module::{Module, StateRef};

/// Bytes of a value's description carried per rank (longer ones are cut at a character).
const SHOWN_BYTES: usize = 48;
/// Description bytes per `f64` slot: 6 bytes are 48 bits, exact in an `f64`.
const BYTES_PER_SLOT: usize = 6;
/// Slots per field: the value's two 32-bit halves, then its description.
const SLOTS: usize = 2 + SHOWN_BYTES / BYTES_PER_SLOT;

/// One value every rank must hold equal, and how to show it.
///
/// ```
/// use shapeflow_core::distributed::RunField;
/// let a = RunField::number("batch_size", 32);
/// assert_eq!((a.name, a.shown.as_str()), ("batch_size", "32"));
/// let b = RunField::described("loss", "CrossEntropy");
/// assert_ne!(b.value, RunField::described("loss", "Mse").value);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunField {
    /// The field's name as the user knows it (`batch_size`, `the model`).
    pub name: &'static str,
    /// What is compared.
    pub value: u64,
    /// What the error shows for it.
    pub shown: String,
}

impl RunField {
    /// A number, compared and shown as itself.
    pub fn number(name: &'static str, value: u64) -> Self {
        RunField { name, value, shown: value.to_string() }
    }
    /// A value compared by a hash of its description, and shown as that description.
    pub fn described(name: &'static str, shown: impl Display) -> Self {
        let shown = shown.to_string();
        RunField { name, value: fnv1a(shown.as_bytes()), shown }
    }
}

/// The 64-bit FNV-1a hash of `bytes` (stable across processes and platforms).
///
/// ```
/// assert_eq!(shapeflow_core::distributed::fnv1a(b""), 0xcbf29ce484222325);
/// ```
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

impl DataParallel {
    /// Every rank's `fields` and readiness compared, before training: `Ok` when every rank is
    /// `ready` and holds the same values; else the same `Err` on every rank naming what
    /// differs (the first field, with each rank's value) or which ranks were not ready. A rank
    /// that is not ready gets `Ok` here and reports its own error. Every rank must pass the
    /// same field names in the same order (`fit` does).
    ///
    /// ```
    /// use shapeflow_core::distributed::{DataParallel, RunField, ThreadGroup};
    /// let errors: Vec<String> = std::thread::scope(|s| {
    ///     let ranks: Vec<_> = ThreadGroup::new(2)
    ///         .into_iter()
    ///         .enumerate()
    ///         .map(|(r, engine)| {
    ///             s.spawn(move || {
    ///                 let dp = DataParallel::new(engine);
    ///                 let fields = [RunField::number("batch_size", if r == 0 { 32 } else { 64 })];
    ///                 dp.agree_to_start(true, &fields).unwrap_err().to_string()
    ///             })
    ///         })
    ///         .collect();
    ///     ranks.into_iter().map(|h| h.join().unwrap()).collect()
    /// });
    /// assert_eq!(errors[0], errors[1]);
    /// assert!(errors[0].contains("`batch_size` differs between ranks: 32 on rank 0, 64 on rank 1"));
    /// ```
    pub fn agree_to_start(&self, ready: bool, fields: &[RunField]) -> Result<()> {
        let (world, rank) = (self.world(), self.rank());
        if world == 1 {
            return Ok(());
        }
        let width = 1 + SLOTS * fields.len();
        let mut table = vec![0.0; world * width];
        let row = &mut table[rank * width..(rank + 1) * width];
        row[0] = if ready { 1.0 } else { 2.0 };
        for (f, slots) in fields.iter().zip(row[1..].chunks_mut(SLOTS)) {
            encode(f, slots);
        }
        // The table's length depends on the world and the field count, which every rank has
        // in common (the same build of `fit`); nothing the user configured changes it.
        self.sum(&mut table)?;
        let rows: Vec<&[f64]> = table.chunks(width).collect();
        let not_ready: Vec<usize> = (0..world).filter(|&r| rows[r][0] != 1.0).collect();
        if !ready {
            return Ok(());
        }
        if !not_ready.is_empty() {
            let list: Vec<String> = not_ready.iter().map(|r| r.to_string()).collect();
            return Err(Error::Distributed(format!(
                "rank {} failed before training (see its own error); every rank stops",
                list.join(", ")
            )));
        }
        for (i, f) in fields.iter().enumerate() {
            let at = 1 + i * SLOTS;
            let values: Vec<(u64, String)> =
                rows.iter().map(|row| decode(&row[at..at + SLOTS])).collect();
            if values.iter().all(|v| v.0 == values[0].0) {
                continue;
            }
            let each: Vec<String> = group(&values);
            return Err(Error::Distributed(format!(
                "`{}` differs between ranks: {}; every rank must run the same model, optimizer and configuration",
                f.name,
                each.join(", ")
            )));
        }
        Ok(())
    }
}

/// Each distinct value with the ranks that hold it: `32 on rank 0, 64 on ranks 1, 2`.
fn group(values: &[(u64, String)]) -> Vec<String> {
    let mut seen: Vec<(u64, &str, Vec<usize>)> = Vec::new();
    for (r, (v, shown)) in values.iter().enumerate() {
        match seen.iter_mut().find(|s| s.0 == *v) {
            Some(s) => s.2.push(r),
            None => seen.push((*v, shown, vec![r])),
        }
    }
    seen.into_iter()
        .map(|(_, shown, ranks)| {
            let list: Vec<String> = ranks.iter().map(|r| r.to_string()).collect();
            let noun = if ranks.len() == 1 { "rank" } else { "ranks" };
            format!("{shown} on {noun} {}", list.join(", "))
        })
        .collect()
}

fn encode(f: &RunField, slots: &mut [f64]) {
    slots[0] = (f.value >> 32) as f64;
    slots[1] = (f.value & 0xffff_ffff) as f64;
    let mut end = f.shown.len().min(SHOWN_BYTES);
    while !f.shown.is_char_boundary(end) {
        end -= 1;
    }
    let mut bytes = [0u8; SHOWN_BYTES];
    bytes[..end].copy_from_slice(&f.shown.as_bytes()[..end]);
    for (slot, chunk) in slots[2..].iter_mut().zip(bytes.chunks(BYTES_PER_SLOT)) {
        *slot = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64) as f64;
    }
}

fn decode(slots: &[f64]) -> (u64, String) {
    let value = ((slots[0] as u64) << 32) | (slots[1] as u64 & 0xffff_ffff);
    let mut bytes = Vec::with_capacity(SHOWN_BYTES);
    for &slot in &slots[2..] {
        let v = slot as u64;
        bytes.extend((0..BYTES_PER_SLOT).rev().map(|k| (v >> (8 * k)) as u8));
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    (value, String::from_utf8_lossy(&bytes).into_owned())
}

/// The fields that describe a model: its element type, its tensors' count, values, names and
/// shapes (what [`DataParallel::broadcast_model`] compares before it sends anything).
///
/// ```
/// use shapeflow_core::{Init, Rng, distributed::model_fields, layers::Linear};
/// use shapeflow_cpu::Cpu;
/// let m = Linear::<typenum::U3, typenum::U2, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
/// let f = model_fields::<_, Cpu>(&m);
/// assert_eq!((f[0].shown.as_str(), f[1].value, f[2].value), ("f32", 2, 8));
/// ```
pub fn model_fields<M: Module<B>, B: Backend>(model: &M) -> Vec<RunField> {
    let (mut tensors, mut values, mut layout) = (0u64, 0u64, Vec::new());
    model.visit_state(&mut String::new(), &mut |name, e| {
        if let StateRef::Tensor(dims, _) = e {
            tensors += 1;
            values += dims.iter().product::<usize>() as u64;
            layout.extend_from_slice(format!("{name}{dims:?};").as_bytes());
        }
    });
    vec![
        RunField::described("element type", std::any::type_name::<B::Elem>()),
        RunField::number("the model's tensors", tensors),
        RunField::number("the model's parameter and buffer values", values),
        RunField {
            name: "the model's tensor names and shapes",
            value: fnv1a(&layout),
            shown: format!("{} (layout {:016x})", short_name::<M>(), fnv1a(&layout)),
        },
    ]
}

/// A type's name without its module paths: `Adam<Mlp<CpuDevice<f32>>>`.
pub(crate) fn short_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(""));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(""));
    out
}
