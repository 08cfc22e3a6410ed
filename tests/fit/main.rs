//! `fit`: histories, metrics, validation, callbacks, schedules, clipping, NaN handling, plots,
//! resuming a run bit for bit, and sequence data (a label per sequence or per step).

mod data_parallel;
mod fixed_size;
mod sequences;
