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

/// The file's contents as a stream: gunzipped (every member of a multi-member file, as `zcat`
/// reads it) when it starts with gzip's magic number.
fn open(path: &Path) -> Result<Box<dyn Read>> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let mut file = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic).map_err(io)?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let stream = head.chain(file);
    Ok(if magic[..n] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(stream))
    } else {
        Box::new(stream)
    })
}

/// Fills as much of `buf` as the stream holds; the count read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn corrupt(path: &Path, e: std::io::Error) -> Error {
    Error::Format { path: path.display().to_string(), message: format!("corrupt gzip data: {e}") }
}

/// A file's bytes, gunzipped (every member) when it starts with gzip's magic number.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    open(path)?.read_to_end(&mut out).map_err(|e| corrupt(path, e))?;
    Ok(out)
}

/// An IDX file's header (`header_len` bytes, checked by `expected`, which returns the data's
/// length it promises) and then exactly that much data: a file that holds more is refused as
/// soon as one byte past the promise is read, so a small file that inflates to gigabytes is
/// never inflated whole.
fn read_bounded(
    path: &Path,
    header_len: usize,
    expected: impl FnOnce(&[u8]) -> Result<usize>,
) -> Result<Vec<u8>> {
    let mut stream = open(path)?;
    let mut head = vec![0u8; header_len];
    let got = read_up_to(&mut stream, &mut head).map_err(|e| corrupt(path, e))?;
    head.truncate(got);
    let want = expected(&head)?;
    let mut data = Vec::new();
    stream.take(want as u64 + 1).read_to_end(&mut data).map_err(|e| corrupt(path, e))?;
    if data.len() != want {
        let holds = if data.len() > want { "more".to_string() } else { data.len().to_string() };
        return Err(Error::Format {
            path: path.display().to_string(),
            message: format!(
                "{} data: the header promises {want} bytes but the file holds {holds}",
                if data.len() < want { "truncated" } else { "oversized" }
            ),
        });
    }
    Ok(data)
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
    let mut sizes = (0, 0, 0);
    let pixels = read_bounded(path, 16, |head| {
        let h = header(path, head, 0x803, 3)?;
        let (count, rows, cols) = (h[0], h[1], h[2]);
        sizes = (count, rows, cols);
        count.checked_mul(rows).and_then(|v| v.checked_mul(cols)).ok_or_else(|| Error::Format {
            path: path.display().to_string(),
            message: format!("header sizes {count} × {rows} × {cols} overflow"),
        })
    })?;
    let (count, rows, cols) = sizes;
    Ok(IdxImages { count, rows, cols, pixels })
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
    read_bounded(path, 8, |head| Ok(header(path, head, 0x801, 1)?[0]))
}
