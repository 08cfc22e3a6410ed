//! A grayscale PNG writer (8-bit, uncompressed deflate blocks): enough to look at generated
//! digits without an image crate. The file is written beside its target and renamed over it,
//! so an interrupted run never leaves half an image.

use std::io::Write;
use std::path::Path;

/// Writes `pixels` (`width × height` bytes, row by row, 0 black … 255 white) to `path`.
pub(crate) fn write_gray(
    path: impl AsRef<Path>,
    width: usize,
    height: usize,
    pixels: &[u8],
) -> std::io::Result<()> {
    let path = path.as_ref();
    if pixels.len() != width * height || width == 0 || height == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}: {} pixels for a {width} × {height} image", path.display(), pixels.len()),
        ));
    }
    let mut raw = Vec::with_capacity((width + 1) * height);
    for row in pixels.chunks(width) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grayscale, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    let tmp = path.with_extension("png.partial");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&png)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// One chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    #[test]
    fn checksums_match_their_reference_values() {
        // The check values of the CRC-32 and Adler-32 specifications.
        assert_eq!(super::crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(super::adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn a_wrong_pixel_count_is_an_error_and_writes_nothing() {
        let path = std::env::temp_dir().join("shapeflow-png-test-wrong.png");
        let e = super::write_gray(&path, 2, 2, &[0; 3]).unwrap_err();
        assert!(e.to_string().contains("3 pixels for a 2 × 2 image"), "{e}");
        assert!(!path.exists());
    }
}
