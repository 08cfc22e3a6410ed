//! The safetensors file itself: an atomic writer, and a reader that validates through the
//! `safetensors` crate and copies entries out.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use crate::backend::Elem;
use crate::error::{Error, Result};

/// One named tensor of a checkpoint, as stored: dtype name, shape, little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Name (`fc1.weight`).
    pub name: String,
    /// safetensors dtype (`F32`, `F64`, `I64`).
    pub dtype: String,
    /// Sizes.
    pub shape: Vec<usize>,
    /// Raw little-endian data.
    pub data: Vec<u8>,
}

impl Entry {
    /// A floating-point tensor.
    pub fn tensor<E: Elem>(name: &str, dims: &[usize], values: &[E]) -> Entry {
        let mut data = Vec::with_capacity(values.len() * E::BYTES);
        values.iter().for_each(|v| v.write_le(&mut data));
        Entry {
            name: name.to_string(),
            dtype: E::SAFETENSORS_DTYPE.into(),
            shape: dims.to_vec(),
            data,
        }
    }
    /// A `U64` scalar (generator states).
    pub fn u64(name: &str, value: u64) -> Entry {
        Entry {
            name: name.to_string(),
            dtype: "U64".into(),
            shape: vec![],
            data: value.to_le_bytes().to_vec(),
        }
    }
    /// An `I64` scalar.
    pub fn count(name: &str, value: u64) -> Entry {
        let v = i64::try_from(value).unwrap_or(i64::MAX);
        Entry {
            name: name.to_string(),
            dtype: "I64".into(),
            shape: vec![],
            data: v.to_le_bytes().to_vec(),
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}

/// The metadata key holding the CRC-32 of the header (with this value blanked) and the data, so
/// a flipped bit anywhere in a file shapeflow wrote is caught on load. Files without it
/// (PyTorch's) load too.
pub const CHECKSUM_KEY: &str = "shapeflow_crc32";
/// A second marker of files shapeflow wrote: when either marker is present both must be, so a
/// corrupted key name cannot silently switch the checksum off.
pub const FORMAT_KEY: &str = "shapeflow_format";
const PLACEHOLDER: &str = "00000000";

/// Writes `entries` as a safetensors file at `path`: to a temporary file beside it, synced, then
/// renamed over `path`.
pub fn write_atomic(
    path: &Path,
    entries: &[Entry],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut header = serde_json::Map::new();
    let mut metadata = metadata.clone();
    metadata.insert(FORMAT_KEY.into(), "1".into());
    metadata.insert(CHECKSUM_KEY.into(), PLACEHOLDER.into());
    header.insert("__metadata__".into(), serde_json::to_value(&metadata).unwrap_or_default());
    let mut offset = 0usize;
    for e in entries {
        let end = offset + e.data.len();
        header.insert(
            e.name.clone(),
            serde_json::json!({"dtype": e.dtype, "shape": e.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut text = serde_json::Value::Object(header).to_string().into_bytes();
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let crc = entries.iter().fold(Crc32::new().update(&text), |c, e| c.update(&e.data)).finish();
    let marker = checksum_field(PLACEHOLDER);
    if let Some(at) = find(&text, marker.as_bytes()) {
        let value = checksum_field(&format!("{crc:08x}"));
        text[at..at + value.len()].copy_from_slice(value.as_bytes());
    }
    write_file_atomic(path, |f| {
        f.write_all(&(text.len() as u64).to_le_bytes())?;
        f.write_all(&text)?;
        for e in entries {
            f.write_all(&e.data)?;
        }
        Ok(())
    })
}

/// Writes a file at `path` with `write`: to a temporary file beside it, synced, then renamed
/// over `path`, so a reader never sees half a file and a failed write leaves `path` as it was.
///
/// ```
/// use std::io::Write;
/// let path = std::env::temp_dir().join("shapeflow-doc-atomic.txt");
/// shapeflow_core::checkpoint::write_file_atomic(&path, |f| f.write_all(b"done")).unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"done");
/// ```
pub fn write_file_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let run = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    run().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path)(e)
    })
}

/// Reads and validates a safetensors file: its entries by name, and its metadata.
pub fn read_entries(path: &Path) -> Result<(HashMap<String, Entry>, BTreeMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    parse(&bytes).map_err(|message| Error::Format { path: path.display().to_string(), message })
}

/// [`read_entries`] for a file's bytes already in memory (fetched by a web page); `name` stands
/// for the file in messages.
pub fn parse_entries(
    bytes: &[u8],
    name: &str,
) -> Result<(HashMap<String, Entry>, BTreeMap<String, String>)> {
    parse(bytes).map_err(|message| Error::Format { path: name.to_string(), message })
}

fn parse(
    bytes: &[u8],
) -> std::result::Result<(HashMap<String, Entry>, BTreeMap<String, String>), String> {
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let metadata: BTreeMap<String, String> =
        meta.metadata().clone().unwrap_or_default().into_iter().collect();
    let mut out = HashMap::new();
    let mut views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = st.iter().collect();
    // The data section in file order, for the checksum.
    views.sort_by_key(|(_, v)| v.data().as_ptr() as usize);
    match (metadata.get(CHECKSUM_KEY), metadata.get(FORMAT_KEY)) {
        (None, None) => {}
        (Some(want), Some(_)) => {
            let header_len = bytes.len() - views.iter().map(|(_, v)| v.data().len()).sum::<usize>();
            let mut header = bytes.get(8..header_len).unwrap_or_default().to_vec();
            let field = checksum_field(want);
            let at = find(&header, field.as_bytes()).ok_or("the checksum field is damaged")?;
            let blank = checksum_field(PLACEHOLDER);
            if blank.len() != field.len() {
                return Err(format!("the checksum `{want}` is damaged"));
            }
            header[at..at + blank.len()].copy_from_slice(blank.as_bytes());
            let crc = views
                .iter()
                .fold(Crc32::new().update(&header), |c, (_, v)| c.update(v.data()))
                .finish();
            if format!("{crc:08x}") != *want {
                return Err(format!(
                    "checksum mismatch: the file has CRC-32 {crc:08x} but its header records {want} (the file is corrupt)"
                ));
            }
        }
        _ => {
            return Err(format!(
                "damaged header: `{CHECKSUM_KEY}` and `{FORMAT_KEY}` must appear together"
            ));
        }
    }
    for (name, view) in views {
        let entry = Entry {
            name: name.to_string(),
            dtype: format!("{:?}", view.dtype()),
            shape: view.shape().to_vec(),
            data: view.data().to_vec(),
        };
        out.insert(name.to_string(), entry);
    }
    Ok((out, metadata))
}

/// CRC-32 (IEEE), table-driven.
struct Crc32(u32);

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

impl Crc32 {
    fn new() -> Self {
        Crc32(!0)
    }
    fn update(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 = CRC_TABLE[((self.0 ^ b as u32) & 0xFF) as usize] ^ (self.0 >> 8);
        }
        self
    }
    fn finish(self) -> u32 {
        !self.0
    }
}

/// The header text of the checksum entry, as serde_json writes it.
fn checksum_field(value: &str) -> String {
    format!("\"{CHECKSUM_KEY}\":\"{value}\"")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
