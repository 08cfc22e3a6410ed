//! A model with a kind that has no exporter is an `Err` naming the node and kind; nothing is
//! written, and a file already at the path is left as it was.

use shapeflow::prelude::*;

/// A layer of the user's own: no ONNX exporter.
#[derive(Module)]
pub struct Echo<B: Backend> {
    pub gain: Tensor<(Const<2>,), B>,
}

impl<B: Backend> Init<B> for Echo<B> {
    fn init(dev: &B, _: &mut Rng) -> Self {
        Echo { gain: Tensor::ones(dev, &[2]).unwrap() }
    }
}

impl<B: Backend> Layer<(Dyn, Const<2>), B> for Echo<B> {
    type Output = (Dyn, Const<2>);
    type Cache = ();
    fn forward(&self, x: &Tensor<(Dyn, Const<2>), B>) -> Tensor<(Dyn, Const<2>), B> {
        x.clone()
    }
    fn forward_train(
        &mut self,
        x: &Tensor<(Dyn, Const<2>), B>,
    ) -> (Tensor<(Dyn, Const<2>), B>, ()) {
        (x.clone(), ())
    }
    fn backward(
        &self,
        _: &(),
        dy: &Tensor<(Dyn, Const<2>), B>,
    ) -> shapeflow::Result<(Tensor<(Dyn, Const<2>), B>, Self)> {
        Ok((dy.clone(), Echo { gain: self.gain.zeros_like() }))
    }
}

model! {
    /// A custom layer between two built-in ones.
    pub struct WithCustom {
        input: [2],
        fc1: Linear<2, 2>,
        #[custom(output = [2])]
        echo: Echo<B>,
        fc2: Linear<2, 1>,
    }
}

#[test]
fn a_kind_without_an_exporter_is_an_error_and_writes_nothing() {
    let dev = Cpu::default();
    let dir =
        std::env::temp_dir().join(format!("shapeflow-onnx-unsupported-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("custom.onnx");
    std::fs::write(&path, b"an older file").unwrap();
    let e =
        shapeflow::onnx::export(&WithCustom::<Cpu>::new(&dev, 0), &path).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "unsupported: node `echo` (Echo<B>) has no ONNX exporter yet (the kinds exported: Linear, Conv1d,"
        ),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"an older file");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "a temporary file was left behind");
}

#[test]
fn a_failed_write_is_an_error_naming_the_path() {
    let dev = Cpu::default();
    model! { pub struct Small { input: [2], fc: Linear<2, 1> } }
    let e = shapeflow::onnx::export(&Small::<Cpu>::new(&dev, 0), "/nonexistent-dir/small.onnx")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent-dir/small.onnx"), "{e}");
}

#[test]
fn weights_keep_pytorch_names_and_a_shared_layer_is_stored_once() {
    model! {
        pub struct Twice {
            input: [3],
            fc: Linear<3, 3>,
            act: Tanh,
            again: fc(act),
        }
    }
    let dev = Cpu::default();
    let m = shapeflow::onnx::to_model_proto(&Twice::<Cpu>::new(&dev, 0)).unwrap();
    let g = m.graph.unwrap();
    let names: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["fc.weight", "fc.bias"]);
    let gemms: Vec<&Vec<String>> =
        g.node.iter().filter(|n| n.op_type == "Gemm").map(|n| &n.input).collect();
    assert_eq!(
        gemms,
        [
            &vec!["input".to_string(), "fc.weight".into(), "fc.bias".into()],
            &vec!["act".to_string(), "fc.weight".into(), "fc.bias".into()]
        ]
    );
    assert_eq!(g.output[0].name, "again");
}
