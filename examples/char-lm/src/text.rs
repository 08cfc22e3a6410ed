//! The Jargon File as character ids: newline and the 95 printable ASCII characters (96
//! symbols); typographic quotes and dashes become their ASCII forms and any other character `?`.

use std::io::Read;
use std::path::Path;

/// Number of symbols.
pub const VOCAB: usize = 96;

/// The id of `c`: 0 for a newline, 1–95 for `' '`..=`'~'`.
pub fn encode(c: char) -> usize {
    let c = match c {
        '\u{2018}' | '\u{2019}' => '\'',
        '\u{201c}' | '\u{201d}' => '"',
        '\u{2013}' | '\u{2014}' | '\u{2500}' => '-',
        '\u{2502}' => '|',
        '\t' => ' ',
        c => c,
    };
    match c {
        '\n' => 0,
        ' '..='~' => c as usize - ' ' as usize + 1,
        _ => encode('?'),
    }
}

/// The character of id `i`.
pub fn decode(i: usize) -> char {
    if i == 0 { '\n' } else { char::from_u32((i - 1 + ' ' as usize) as u32).unwrap_or('?') }
}

/// The text of a gzipped (or plain) UTF-8 file, as ids.
pub fn load(path: &Path) -> Result<Vec<usize>, String> {
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut text)
            .map_err(|e| format!("{}: corrupt gzip data or not UTF-8 ({e})", path.display()))?;
    } else {
        text =
            String::from_utf8(raw).map_err(|e| format!("{}: not UTF-8 ({e})", path.display()))?;
    }
    if text.len() < 10_000 {
        return Err(format!(
            "{}: {} bytes is too little text to train on",
            path.display(),
            text.len()
        ));
    }
    Ok(text.chars().map(encode).collect())
}
