//! Serves the LeNet CNN that `mnist-cnn` trains, over TF Serving's REST API, on
//! `127.0.0.1:8501`. Requests carry 28×28 pixel intensities in [0, 1]; the server standardises
//! them as the training did.
//!
//! ```text
//! cargo run --release -p serve-mnist -- [--model FILE] [--addr HOST:PORT] [--max-batch N] [--no-batching]
//! cargo run --release -p serve-mnist -- --request N > digit.json   # a request for test image N
//! curl -s -d @digit.json http://127.0.0.1:8501/v1/models/mnist:predict
//! ```

use std::path::PathBuf;
use std::time::Duration;

use mnist_cnn::LeNet;
use shapeflow::prelude::*;
use shapeflow_serve::{Batching, Servable, ServeConfig, Served, Server};

/// The CNN behind a standardisation of its pixels (MNIST's mean 0.1307 and deviation 0.3081).
struct Standardised<S>(S);

impl<S: Servable> Servable for Standardised<S> {
    fn input_dims(&self) -> &[usize] {
        self.0.input_dims()
    }
    fn output_dims(&self) -> &[usize] {
        self.0.output_dims()
    }
    fn predict(&self, inputs: &[f32], batch: usize) -> shapeflow::Result<Vec<f32>> {
        let x: Vec<f32> = inputs.iter().map(|&p| (p - 0.1307) / 0.3081).collect();
        self.0.predict(&x, batch)
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut model_path = PathBuf::from("runs/mnist-cnn/model.safetensors");
    let mut addr = "127.0.0.1:8501".to_string();
    let mut config = ServeConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => model_path = value()?.into(),
            "--addr" => addr = value()?,
            "--max-batch" => {
                let max_batch = value()?.parse().map_err(|e| format!("--max-batch: {e}"))?;
                config.batching = Batching { max_batch, max_wait: Duration::from_millis(2) };
            }
            "--no-batching" => config.batching = Batching::off(),
            "--request" => {
                let i: usize = value()?.parse().map_err(|e| format!("--request: {e}"))?;
                return write_request(i);
            }
            "-h" | "--help" => {
                println!(
                    "usage: serve-mnist [--model FILE (runs/mnist-cnn/model.safetensors)] [--addr HOST:PORT (127.0.0.1:8501)] [--max-batch N (64)] [--no-batching] | --request N"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    if !model_path.exists() {
        return Err(format!(
            "{} does not exist: train the model first with `cargo run --release -p mnist-cnn`",
            model_path.display()
        )
        .into());
    }
    let dev = Cpu::default();
    let mut model = LeNet::<Cpu>::new(&dev, 0);
    shapeflow::checkpoint::load(&mut model, &model_path)?;
    let served = Standardised(Served::new(model, dev)?);
    Server::new("mnist", served, config).run(&addr)?;
    Ok(())
}

/// Prints a `:predict` body holding MNIST test image `i` (pixels in [0, 1]); its label goes to
/// stderr.
fn write_request(i: usize) -> Result<(), Box<dyn std::error::Error>> {
    let data = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist"));
    let test = Mnist::load(&data)?.test;
    if i >= test.len() {
        return Err(format!("--request {i}: the test set has {} images", test.len()).into());
    }
    let sample = test.sample(i);
    let rows: Vec<String> = sample
        .chunks(28)
        .map(|r| format!("[{}]", r.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",")))
        .collect();
    println!("{{\"instances\": [[[{}]]]}}", rows.join(","));
    eprintln!("test image {i}: label {}", test.labels()[i]);
    Ok(())
}
