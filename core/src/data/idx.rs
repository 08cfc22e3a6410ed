//! IDX files (big-endian; magic 0x803 for u8 images, 0x801 for u8 labels), plain or gzipped.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Images from an IDX file: `count` images of `rows × cols` u8 pixels.
#[derive(Clone, Debug)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Pixels, image after image, row-major.
    pub pixels: Vec<u8>,
}

/// A file's bytes, gunzipped when it starts with gzip's magic number.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let raw = std::fs::read(path).map_err(io)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| {
            Error::Format {
                path: path.display().to_string(),
                message: format!("corrupt gzip data: {e}"),
            }
        })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

fn header(path: &Path, bytes: &[u8], magic: usize, fields: usize) -> Result<Vec<usize>> {
    let fmt = |message: String| Error::Format { path: path.display().to_string(), message };
    let found = be_u32(bytes, 0).ok_or_else(|| {
        fmt(format!("file of {} bytes is too short for an IDX header", bytes.len()))
    })?;
    if found != magic {
        return Err(fmt(format!("bad magic number 0x{found:08x}, expected 0x{magic:08x}")));
    }
    (0..fields)
        .map(|i| be_u32(bytes, 4 + 4 * i).ok_or_else(|| fmt("truncated IDX header".to_string())))
        .collect()
}

fn check_len(path: &Path, bytes: &[u8], header_len: usize, expected: usize) -> Result<()> {
    let got = bytes.len() - header_len;
    if got != expected {
        return Err(Error::Format {
            path: path.display().to_string(),
            message: format!(
                "{} data: the header promises {expected} bytes but the file holds {got}",
                if got < expected { "truncated" } else { "oversized" }
            ),
        });
    }
    Ok(())
}

/// Reads an IDX image file (magic `0x00000803`), gzipped or not.
///
/// ```
/// let dir = std::env::temp_dir().join("shapeflow-idx-doc");
/// std::fs::create_dir_all(&dir).unwrap();
/// let p = dir.join("imgs.idx");
/// std::fs::write(&p, [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 7, 9]).unwrap();
/// let imgs = shapeflow_core::data::read_idx_images(&p).unwrap();
/// assert_eq!((imgs.count, imgs.rows, imgs.cols, imgs.pixels), (1, 1, 2, vec![7, 9]));
/// ```
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let h = header(path, &bytes, 0x803, 3)?;
    let (count, rows, cols) = (h[0], h[1], h[2]);
    let expected =
        count.checked_mul(rows).and_then(|v| v.checked_mul(cols)).ok_or_else(|| Error::Format {
            path: path.display().to_string(),
            message: format!("header sizes {count} × {rows} × {cols} overflow"),
        })?;
    check_len(path, &bytes, 16, expected)?;
    Ok(IdxImages { count, rows, cols, pixels: bytes[16..].to_vec() })
}

/// Reads an IDX label file (magic `0x00000801`), gzipped or not.
///
/// ```
/// let dir = std::env::temp_dir().join("shapeflow-idx-doc");
/// std::fs::create_dir_all(&dir).unwrap();
/// let p = dir.join("labels.idx");
/// std::fs::write(&p, [0, 0, 8, 1, 0, 0, 0, 2, 3, 4]).unwrap();
/// assert_eq!(shapeflow_core::data::read_idx_labels(&p).unwrap(), vec![3, 4]);
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let h = header(path, &bytes, 0x801, 1)?;
    check_len(path, &bytes, 8, h[0])?;
    Ok(bytes[8..].to_vec())
}
