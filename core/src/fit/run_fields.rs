//! What the ranks of a data-parallel `fit` compare before training
//! ([`DataParallel::agree_to_start`](crate::distributed::DataParallel::agree_to_start)).

use crate::backend::Backend;
use crate::data::Dataset;
use crate::distributed::{RunField, model_fields, short_name};
use crate::module::Module;

use super::{FitConfig, Validation};

/// The model's layout, element type, optimizer and configuration, as fields to compare.
pub(super) fn run_fields<M: Module<B>, B: Backend, O: crate::optim::Optimizer<M> + ?Sized>(
    model: &M,
    opt: &O,
    train: &Dataset,
    config: &FitConfig,
) -> Vec<RunField> {
    let lr = opt.lr();
    let validation = match &config.validation {
        Validation::Data(v) => format!("Data({} samples)", v.len()),
        other => format!("{other:?}"),
    };
    let mut fields = model_fields::<M, B>(model);
    fields.extend([
        RunField::described("optimizer", short_name::<O>()),
        RunField { name: "learning rate", value: lr.to_bits(), shown: lr.to_string() },
        RunField::number("batch_size", config.batch_size as u64),
        RunField::number("training samples", train.len() as u64),
        RunField::number("epochs", config.epochs as u64),
        RunField::number("seed", config.seed),
        RunField::described("shuffle", config.shuffle),
        RunField::described("bucket_by_length", config.bucket_by_length),
        RunField::described("loss", format!("{:?}", config.loss)),
        RunField::described("validation", validation),
        RunField::described("clip_grad_norm", format!("{:?}", config.clip_grad_norm)),
        RunField::described("resume", config.resume),
    ]);
    fields
}
