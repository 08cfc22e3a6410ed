//! A server on a loopback port for the tests, and a client for it.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;
use shapeflow::prelude::*;
use shapeflow_serve::{Servable, ServeConfig, Served, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

model! {
    /// A small CNN with MNIST's input shape.
    pub struct Digits {
        input: [1, 8, 8],
        conv: Conv2d<1, 4, 3, padding = 1>,
        act: Relu,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<64, 10>,
    }
}

/// A served `Digits` with fixed weights, and the same model for reference outputs.
pub fn digits() -> (Served<Digits<Cpu>, (Dyn, Const<1>, Const<8>, Const<8>), Cpu>, Digits<Cpu>) {
    let dev = Cpu::default();
    let served = Served::new(Digits::<Cpu>::new(&dev, 7), dev).unwrap();
    (served, Digits::<Cpu>::new(&dev, 7))
}

/// The reference outputs of `model` for `batch` images in `x`.
pub fn reference(model: &Digits<Cpu>, x: &[f32], batch: usize) -> Vec<f32> {
    let dev = Cpu::default();
    let t = Tensor::<(Dyn, Const<1>, Const<8>, Const<8>), Cpu>::from_batch(&dev, batch, x.to_vec())
        .unwrap();
    model.forward(&t).to_vec()
}

/// A deterministic image: 64 values in [-1, 1).
pub fn image(seed: usize) -> Vec<f32> {
    (0..64).map(|i| (((i * 37 + seed * 101) % 200) as f32) / 100.0 - 1.0).collect()
}

/// An image as the nested JSON list of shape [1, 8, 8].
pub fn image_json(x: &[f32]) -> Value {
    let rows: Vec<Value> = x.chunks(8).map(|r| Value::from(r.to_vec())).collect();
    Value::Array(vec![Value::Array(rows)])
}

/// A running server: its base address, the way to stop it, and its task.
pub struct Running {
    pub base: String,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
    pub client: reqwest::Client,
}

impl Running {
    /// Stops the server and waits until it has answered everything and returned.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the server stops within 20 s")
            .expect("the server task ends")
            .expect("the server returns Ok");
    }

    /// `GET path`: the status and the body as JSON (or as a string when it is not JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        read(r).await
    }

    /// `POST path` with `body`.
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let r = self.client.post(format!("{}{path}", self.base)).body(body).send().await.unwrap();
        read(r).await
    }
}

async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Starts `model` under `name` with `config` on a free loopback port.
pub async fn start(name: &str, model: impl Servable, config: ServeConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Server::new(name, model, config);
    let task = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    Running { base, stop: Some(stop), task, client: reqwest::Client::new() }
}

/// `got` equals `want` to rounding: a sample's outputs may differ in the last bits with the
/// batch it was served in (a batch of one multiplies through the CPU backend's dot-product
/// kernel, a larger batch through the GEMM, summing in another order).
pub fn assert_rows_close(got: &[Vec<f32>], want: &[Vec<f32>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: rows");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len(), "{what}: values");
        for (a, b) in g.iter().zip(w) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{what}: {g:?} vs {w:?}");
        }
    }
}

/// The `f32` values of a JSON list of lists.
pub fn rows(v: &Value) -> Vec<Vec<f32>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect())
        .collect()
}
