//! The IDX and CSV readers, the MNIST loader and the batch iterator: real files and every
//! failure mode.

use std::io::Write;
use std::path::{Path, PathBuf};

use shapeflow::data::{Dataset, Mnist, read_idx_images, read_idx_labels};
use shapeflow::prelude::*;

mod csv;
mod gzip;
mod hostile;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shapeflow-data-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn images_file(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for x in [count, rows, cols] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(pixels);
    v
}

fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

#[test]
fn reads_plain_and_gzipped_idx() {
    let p = tmp("ok-images");
    write(&p, &images_file(2, 2, 2, &[1, 2, 3, 4, 5, 6, 7, 8]));
    let imgs = read_idx_images(&p).unwrap();
    assert_eq!((imgs.count, imgs.rows, imgs.cols), (2, 2, 2));
    let pg = tmp("ok-images.gz");
    write(&pg, &gz(&images_file(2, 2, 2, &[1, 2, 3, 4, 5, 6, 7, 8])));
    assert_eq!(read_idx_images(&pg).unwrap().pixels, imgs.pixels);
    let pl = tmp("ok-labels.gz");
    write(&pl, &gz(&labels_file(&[3, 9])));
    assert_eq!(read_idx_labels(&pl).unwrap(), vec![3, 9]);
}

#[test]
fn bad_magic_is_an_error_naming_the_file() {
    let p = tmp("bad-magic");
    write(&p, &labels_file(&[1, 2]));
    let e = read_idx_images(&p).err().unwrap().to_string();
    assert!(
        e.contains("bad-magic") && e.contains("bad magic number 0x00000801, expected 0x00000803"),
        "{e}"
    );
}

#[test]
fn truncated_and_oversized_files_are_errors() {
    let p = tmp("truncated");
    write(&p, &images_file(2, 2, 2, &[1, 2, 3]));
    let e = read_idx_images(&p).err().unwrap().to_string();
    assert!(e.contains("truncated data: the header promises 8 bytes but the file holds 3"), "{e}");
    let p = tmp("oversized");
    write(&p, &labels_file(&[1, 2]).into_iter().chain([7]).collect::<Vec<_>>());
    assert!(read_idx_labels(&p).err().unwrap().to_string().contains("oversized"));
    let p = tmp("short-header");
    write(&p, &[0, 0, 8]);
    assert!(read_idx_labels(&p).err().unwrap().to_string().contains("too short"));
    let p = tmp("corrupt.gz");
    let mut bytes = gz(&labels_file(&[1, 2, 3]));
    let n = bytes.len();
    bytes.truncate(n - 6);
    write(&p, &bytes);
    assert!(read_idx_labels(&p).is_err());
    assert!(
        read_idx_labels(tmp("missing-file")).err().unwrap().to_string().contains("missing-file")
    );
}

#[test]
fn count_mismatch_between_images_and_labels_is_an_error() {
    let dir = tmp("mnist-mismatch");
    std::fs::create_dir_all(&dir).unwrap();
    for split in ["train", "t10k"] {
        write(&dir.join(format!("{split}-images-idx3-ubyte")), &images_file(3, 1, 2, &[0; 6]));
        write(&dir.join(format!("{split}-labels-idx1-ubyte")), &labels_file(&[1, 2]));
    }
    let e = Mnist::load(&dir).err().unwrap().to_string();
    assert!(e.contains("2 labels but") && e.contains("holds 3 images"), "{e}");
}

#[test]
fn the_shipped_mnist_files_load() {
    let m = Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")).unwrap();
    assert_eq!((m.train.len(), m.test.len(), m.train.features()), (60_000, 10_000, 784));
    let mut counts = [0usize; 10];
    m.test.labels().iter().for_each(|&l| counts[l] += 1);
    // The canonical test-set digit counts.
    assert_eq!(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
}

#[test]
fn batches_are_seeded_shuffled_and_cover_every_sample_once() {
    let n = 103;
    let ds = Dataset::new((0..n).map(|i| i as f32).collect(), (0..n).collect(), 1).unwrap();
    let order = |seed| -> Vec<usize> {
        ds.batches(10, &mut Rng::new(seed)).flat_map(|b| b.labels).collect()
    };
    let a = order(1);
    assert_eq!(a, order(1));
    assert_ne!(a, order(2));
    assert_ne!(a, (0..n).collect::<Vec<_>>());
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>());
    let b = ds.batches(10, &mut Rng::new(1)).next().unwrap();
    assert_eq!(b.inputs, b.labels.iter().map(|&l| l as f32).collect::<Vec<_>>());
    assert_eq!(
        ds.batches(10, &mut Rng::new(1)).map(|b| b.len()).collect::<Vec<_>>().last(),
        Some(&3)
    );
    assert!(Dataset::new(vec![0.0; 5], vec![0, 1], 3).is_err());
}

/// `shuffle` keeps every sample with its label and target; `split_shuffled` is seeded and draws
/// its validation part from the whole file (a file sorted by class gives both parts every class).
#[test]
fn shuffled_splits_are_seeded_and_keep_samples_whole() {
    use shapeflow::data::Dataset;
    // Sorted by class, as many CSV exports are: 50 of class 0, then 50 of class 1.
    let labels: Vec<usize> = (0..100).map(|i| usize::from(i >= 50)).collect();
    let inputs: Vec<f32> = (0..100).flat_map(|i| [i as f32, labels[i] as f32]).collect();
    let ds = Dataset::new(inputs, labels, 2).unwrap();
    let (_, tail) = ds.split(0.2);
    assert!(tail.labels().iter().all(|&l| l == 1), "the plain split takes the tail");
    let (train, val) = ds.split_shuffled(0.2, 5);
    assert_eq!((train.len(), val.len()), (80, 20));
    assert!(val.labels().contains(&0) && val.labels().contains(&1));
    assert_eq!(ds.split_shuffled(0.2, 5).1.labels(), val.labels());
    assert_ne!(ds.split_shuffled(0.2, 6).1.labels(), val.labels());
    for part in [&train, &val] {
        let batch = part.batches_in_order(part.len()).next().unwrap();
        for (pair, &label) in batch.inputs.chunks(2).zip(&batch.labels) {
            assert_eq!(pair[1] as usize, label, "sample {} kept its label", pair[0]);
        }
    }
}

/// A standardizer fitted on the training set gives it zero mean and unit variance per feature
/// and applies the same statistics to other sets; mismatches and NaN are errors.
#[test]
fn standardization_is_fitted_on_training_data_and_applied_to_others() {
    use shapeflow::data::{Dataset, Standardizer};
    let inputs: Vec<f32> = (0..40).flat_map(|i| [i as f32, 1000.0 + 3.0 * i as f32, 5.0]).collect();
    let mut train = Dataset::new(inputs, vec![0; 40], 3).unwrap();
    let s = Standardizer::fit(&train).unwrap();
    s.apply(&mut train).unwrap();
    for f in 0..2 {
        let col: Vec<f64> = train.inputs().iter().skip(f).step_by(3).map(|&v| v as f64).collect();
        let mean = col.iter().sum::<f64>() / 40.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 40.0;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "feature {f}: {mean} {var}");
    }
    assert!(
        train.inputs().iter().skip(2).step_by(3).all(|&v| v == 0.0),
        "constant feature centred"
    );
    let mut test = Dataset::new(vec![19.5, 1058.5, 5.0], vec![0], 3).unwrap();
    s.apply(&mut test).unwrap();
    assert!(test.inputs()[0].abs() < 1e-6 && test.inputs()[1].abs() < 1e-6);
    let mut other = Dataset::new(vec![0.0; 4], vec![0, 0], 2).unwrap();
    assert!(s.apply(&mut other).unwrap_err().to_string().contains("fitted on 3 features"));
    let bad = Dataset::new(vec![1.0, f32::NAN], vec![0], 2).unwrap();
    assert!(Standardizer::fit(&bad).unwrap_err().to_string().contains("sample 0 (feature 1)"));
}
