//! Data: the IDX reader (MNIST's format, gzip accepted), a CSV reader, the MNIST loader and a seeded,
//! shuffling batch iterator, shuffled splits and per-feature standardisation.

mod batches;
mod csv_file;
mod idx;
mod mnist;
mod standardize;
mod ts_file;

pub use batches::{Batch, Batches, Dataset};
pub use csv_file::{Column, CsvOptions, Target, read_csv};
pub use idx::{IdxImages, read_idx_images, read_idx_labels};
pub use mnist::Mnist;
pub use standardize::Standardizer;
pub use ts_file::{TsFile, read_ts};
