//! Saving and loading whole models, and the errors a mismatched file gives.

use std::path::PathBuf;

use shapeflow::checkpoint;
use shapeflow::prelude::*;

model! {
    /// A model with parameters and batch-norm buffers.
    pub struct Net {
        input: [1, 8, 8],
        conv: Conv2d<1, 4, 3>,
        bn: BatchNorm2d<4>,
        act: Relu,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<36, 3>,
    }
}

model! {
    /// Same names, one different shape.
    pub struct Wider {
        input: [1, 8, 8],
        conv: Conv2d<1, 4, 3>,
        bn: BatchNorm2d<4>,
        act: Relu,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<36, 5>,
    }
}

pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shapeflow-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A trained-looking model: one training step so the running statistics are not the defaults.
pub fn trained() -> Net<Cpu> {
    let dev = Cpu::default();
    let mut m = Net::<Cpu>::new(&dev, 3);
    let x =
        Tensor::<(Dyn, Const<1>, Const<8>, Const<8>), Cpu>::randn(&dev, &[4, 1, 8, 8], 0.5, 2.0, 9)
            .unwrap();
    let _ = m.forward_train(&x);
    m
}

#[test]
fn state_dict_names_follow_pytorch() {
    let m = trained();
    let names: Vec<String> =
        checkpoint::state_entries(&m, "").into_iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "conv.weight",
            "conv.bias",
            "bn.weight",
            "bn.bias",
            "bn.running_mean",
            "bn.running_var",
            "bn.num_batches_tracked",
            "fc.weight",
            "fc.bias"
        ]
    );
}

#[test]
fn round_trip_restores_parameters_buffers_and_outputs() {
    let m = trained();
    let path = tmp("round.safetensors");
    checkpoint::save(&m, &path).unwrap();
    let dev = Cpu::default();
    let mut other = Net::<Cpu>::new(&dev, 99);
    checkpoint::load(&mut other, &path).unwrap();
    assert_eq!(other.bn.running_var.to_vec(), m.bn.running_var.to_vec());
    assert_eq!(other.bn.num_batches_tracked, 1);
    let x =
        Tensor::<(Dyn, Const<1>, Const<8>, Const<8>), Cpu>::randn(&dev, &[2, 1, 8, 8], 0.0, 1.0, 1)
            .unwrap();
    assert_eq!(other.forward(&x).to_vec(), m.forward(&x).to_vec());
    // No temporary file is left beside the checkpoint.
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn wrong_shape_names_the_tensor_and_both_shapes_and_changes_nothing() {
    let path = tmp("shape.safetensors");
    checkpoint::save(&trained(), &path).unwrap();
    let mut w = Wider::<Cpu>::new(&Cpu::default(), 0);
    let before = w.conv.weight.to_vec();
    let e = checkpoint::load(&mut w, &path).unwrap_err().to_string();
    assert!(
        e.contains("tensor `fc.weight` has shape [3, 36] but the model expects [5, 36]"),
        "{e}"
    );
    assert!(e.contains("shape.safetensors"), "{e}");
    assert_eq!(w.conv.weight.to_vec(), before, "a failed load changes nothing");
}

#[test]
fn missing_unexpected_and_wrong_dtype_are_errors() {
    let m = trained();
    let mut entries = checkpoint::state_entries(&m, "");
    let path = tmp("missing.safetensors");
    let without_bias: Vec<_> = entries.iter().filter(|e| e.name != "fc.bias").cloned().collect();
    checkpoint::write_atomic(&path, &without_bias, &Default::default()).unwrap();
    let e = checkpoint::load(&mut trained(), &path).unwrap_err().to_string();
    assert!(e.contains("missing tensor `fc.bias`"), "{e}");

    entries.push(checkpoint::Entry::tensor::<f32>("fc.extra", &[1], &[0.0]));
    checkpoint::write_atomic(&path, &entries, &Default::default()).unwrap();
    let e = checkpoint::load(&mut trained(), &path).unwrap_err().to_string();
    assert!(e.contains("unexpected tensors for this model: `fc.extra`"), "{e}");

    let m64 = Net::<Cpu64>::new(&Cpu64::default(), 0);
    checkpoint::save(&m64, &path).unwrap();
    let e = checkpoint::load(&mut trained(), &path).unwrap_err().to_string();
    assert!(e.contains("tensor `conv.weight` has dtype F64 but the model computes in f32"), "{e}");
}

#[test]
fn files_that_are_not_checkpoints_are_errors() {
    let path = tmp("garbage.safetensors");
    std::fs::write(&path, b"this is not a checkpoint at all").unwrap();
    let e = checkpoint::load(&mut trained(), &path).unwrap_err().to_string();
    assert!(e.contains("not a valid safetensors file"), "{e}");
    let e = checkpoint::load(&mut trained(), tmp("does-not-exist.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does-not-exist"), "{e}");
}

#[test]
fn saving_over_a_checkpoint_replaces_it_whole() {
    let path = tmp("replace.safetensors");
    let a = trained();
    checkpoint::save(&a, &path).unwrap();
    let b = Net::<Cpu>::new(&Cpu::default(), 1234);
    checkpoint::save(&b, &path).unwrap();
    let mut c = trained();
    checkpoint::load(&mut c, &path).unwrap();
    assert_eq!(c.fc.weight.to_vec(), b.fc.weight.to_vec());
    // A save into a directory that does not exist fails cleanly, without touching anything.
    let bad = tmp("no-such-dir").join("x.safetensors");
    assert!(checkpoint::save(&a, &bad).is_err());
}
