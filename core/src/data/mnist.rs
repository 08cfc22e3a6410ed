//! MNIST from its four IDX files.

use std::path::Path;

use crate::error::{Error, Result};

use super::batches::Dataset;
use super::idx::{read_idx_images, read_idx_labels};

/// The MNIST training (60,000) and test (10,000) sets, pixels scaled to `[0, 1]`.
///
/// ```no_run
/// let mnist = shapeflow_core::data::Mnist::load("data/mnist").unwrap();
/// assert_eq!(mnist.train.len(), 60_000);
/// ```
#[derive(Clone, Debug)]
pub struct Mnist {
    /// Training set.
    pub train: Dataset,
    /// Test set.
    pub test: Dataset,
}

impl Mnist {
    /// Loads `train-images-idx3-ubyte(.gz)` and the three other files from `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Mnist> {
        let dir = dir.as_ref();
        Ok(Mnist { train: load_split(dir, "train")?, test: load_split(dir, "t10k")? })
    }
}

fn find(dir: &Path, stem: &str) -> std::path::PathBuf {
    let gz = dir.join(format!("{stem}.gz"));
    if gz.exists() { gz } else { dir.join(stem) }
}

fn load_split(dir: &Path, split: &str) -> Result<Dataset> {
    let img_path = find(dir, &format!("{split}-images-idx3-ubyte"));
    let lbl_path = find(dir, &format!("{split}-labels-idx1-ubyte"));
    let images = read_idx_images(&img_path)?;
    let labels = read_idx_labels(&lbl_path)?;
    if images.count != labels.len() {
        return Err(Error::Format {
            path: lbl_path.display().to_string(),
            message: format!(
                "{} labels but {} holds {} images",
                labels.len(),
                img_path.display(),
                images.count
            ),
        });
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l > 9) {
        return Err(Error::Format {
            path: lbl_path.display().to_string(),
            message: format!("label {l} at index {i} is not a digit 0-9"),
        });
    }
    let features = images.rows * images.cols;
    let inputs = images.pixels.iter().map(|&p| p as f32 / 255.0).collect();
    Dataset::new(inputs, labels.into_iter().map(usize::from).collect(), features)
}
