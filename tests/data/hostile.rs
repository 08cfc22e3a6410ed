//! Every reader against damaged input: random truncations and bit flips of valid files, plain
//! and gzipped. A reader may return an `Err` or data; it may never panic. For gzipped input
//! (whose members carry a CRC-32), the data it returns is the original, whole.

use std::panic::{AssertUnwindSafe, catch_unwind};

use shapeflow::data::{CsvOptions, read_csv, read_idx_images, read_idx_labels, read_ts};
use shapeflow::prelude::*;

use super::{gz, images_file, labels_file, tmp, write};

/// Damaged copies of `bytes`: truncations at every sixth length and `flips` single-bit flips
/// at seeded positions.
fn damaged(bytes: &[u8], flips: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..bytes.len()).step_by(6).map(|n| bytes[..n].to_vec()).collect();
    let mut rng = Rng::new(seed);
    for _ in 0..flips {
        let mut b = bytes.to_vec();
        let at = rng.below(b.len());
        b[at] ^= 1 << rng.below(8);
        out.push(b);
    }
    out
}

/// Runs `read` on every damaged copy of `file` (written to `name`); `same` says whether a
/// successful read returned the original data.
fn survive<T>(
    name: &str,
    file: &[u8],
    gzipped: bool,
    read: impl Fn(&std::path::Path) -> shapeflow::Result<T>,
    same: impl Fn(&T) -> bool,
) {
    let path = tmp(name);
    for (i, bytes) in damaged(file, 300, 7).into_iter().enumerate() {
        write(&path, &bytes);
        let got = catch_unwind(AssertUnwindSafe(|| read(&path)));
        let got = got.unwrap_or_else(|_| {
            panic!("{name}: damaged copy {i} ({} bytes) made the reader panic", bytes.len())
        });
        if let (Ok(v), true) = (got, gzipped) {
            assert!(same(&v), "{name}: damaged copy {i} read as other data without an Err");
        }
    }
    // the intact file still reads
    write(&path, file);
    assert!(same(&read(&path).unwrap()), "{name}: the intact file");
}

#[test]
fn idx_readers_survive_damage() {
    let pixels: Vec<u8> = (0..3 * 4 * 5).map(|i| (i * 37 % 251) as u8).collect();
    let images = images_file(3, 4, 5, &pixels);
    let same = |v: &shapeflow::data::IdxImages| {
        (v.count, v.rows, v.cols, &v.pixels[..]) == (3, 4, 5, &pixels[..])
    };
    survive("h-images", &images, false, |p| read_idx_images(p), same);
    survive("h-images.gz", &gz(&images), true, |p| read_idx_images(p), same);
    let labels = labels_file(&[1, 7, 3, 9, 0, 2]);
    let same = |v: &Vec<u8>| v[..] == [1, 7, 3, 9, 0, 2];
    survive("h-labels", &labels, false, |p| read_idx_labels(p), same);
    survive("h-labels.gz", &gz(&labels), true, |p| read_idx_labels(p), same);
}

#[test]
fn csv_and_ts_readers_survive_damage() {
    let csv = b"a,b,label\n1.5,2,0\n-3,4e-2,1\n5,6,2\n7,8,1\n";
    let same =
        |d: &Dataset| d.len() == 4 && d.labels() == [0, 1, 2, 1] && d.inputs()[..2] == [1.5, 2.0];
    survive("h.csv", csv, false, |p| read_csv(p, &CsvOptions::default()), same);
    survive("h.csv.gz", &gz(csv), true, |p| read_csv(p, &CsvOptions::default()), same);
    let ts = b"@dimensions 2\n@classLabel true x y\n@data\n1,2,3:4,5,6:y\n7:8:x\n";
    let same = |t: &shapeflow::data::TsFile| {
        t.data.len() == 2
            && t.data.labels() == [1, 0]
            && t.data.sample(0) == [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
    };
    survive("h.ts", ts, false, |p| read_ts(p), same);
    survive("h.ts.gz", &gz(ts), true, |p| read_ts(p), same);
}

#[test]
fn checkpoint_loading_survives_damage() {
    let dev = Cpu::default();
    let model = Linear::<Const<3>, Const<2>, Cpu>::init(&dev, &mut Rng::new(0));
    let path = tmp("h-model.safetensors");
    shapeflow::checkpoint::save(&model, &path).unwrap();
    let file = std::fs::read(&path).unwrap();
    let want = model.weight.to_vec();
    survive(
        "h-damaged.safetensors",
        &file,
        false,
        |p| {
            let mut m = Linear::<Const<3>, Const<2>, Cpu>::init(&dev, &mut Rng::new(1));
            shapeflow::checkpoint::load(&mut m, p).map(|()| m.weight.to_vec())
        },
        |w| w.len() == want.len(),
    );
}
