//! Checkpoints: round trips with PyTorch names, every load error, atomic saves, and a fuzz test
//! of corrupted files.

#[path = "../support/mod.rs"]
mod support;

mod corrupt;
mod roundtrip;
