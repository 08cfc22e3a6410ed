//! # shapeflow-serve
//!
//! Serves a shapeflow model over HTTP with TensorFlow Serving's REST API, so existing TF
//! Serving clients work unchanged:
//!
//! - `GET /v1/models/{name}`: the model's status;
//! - `GET /v1/models/{name}/metadata`: its signature, input and output shapes and dtypes;
//! - `POST /v1/models/{name}:predict` with `{"instances": [...]}` (row format, answered with
//!   `{"predictions": [...]}`) or `{"inputs": ...}` (columnar, answered with `{"outputs": ...}`);
//! - `GET /metrics`: request counts, latency and batch-size histograms (Prometheus' format).
//!
//! Concurrent requests are merged into one forward pass ([`Batching`]); every bad request is
//! answered `{"error": "..."}` with a 4xx status naming what is wrong, and the server goes on.
//!
//! ```no_run
//! use shapeflow::prelude::*;
//! use shapeflow_serve::{ServeConfig, Served, Server};
//!
//! model! { pub struct Mlp { input: [784], fc1: Linear<784, 128>, act: Relu, fc2: Linear<128, 10> } }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let dev = Cpu::default();
//!     let mut model = Mlp::<Cpu>::new(&dev, 0);
//!     shapeflow::checkpoint::load(&mut model, "runs/mnist-mlp/model.safetensors")?;
//!     let server = Server::new("mnist", Served::new(model, dev)?, ServeConfig::default());
//!     server.run("127.0.0.1:8501")?; // until Ctrl-C; `Server::serve(listener, shutdown)` inside your own tokio runtime
//!     Ok(())
//! }
//! ```

mod batcher;
mod metrics;
pub mod request;
pub mod response;
mod routes;
mod servable;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use batcher::Batching;
pub use metrics::Metrics;
pub use servable::{Servable, Served};

/// How the server runs.
///
/// ```
/// let c = shapeflow_serve::ServeConfig::default();
/// assert_eq!((c.body_limit, c.queue, c.input_name.as_str()), (16 << 20, 1024, "input"));
/// ```
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// How requests are merged into forward passes ([`Batching::off`] for none).
    pub batching: Batching,
    /// The largest request body accepted, in bytes (larger ones get 413).
    pub body_limit: usize,
    /// How many requests may wait for the model (more get 503).
    pub queue: usize,
    /// The input's name in the signature (`{"inputs": {"input": ...}}`).
    pub input_name: String,
    /// The output's name in the signature.
    pub output_name: String,
    /// The version the model is served as.
    pub version: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            batching: Batching::default(),
            body_limit: 16 << 20,
            queue: 1024,
            input_name: "input".into(),
            output_name: "output".into(),
            version: "1".into(),
        }
    }
}

/// A model server: one model under one name.
///
/// ```
/// use shapeflow::prelude::*;
/// use shapeflow_serve::{ServeConfig, Served, Server};
/// model! { pub struct Tiny { input: [2], fc: Linear<2, 1> } }
/// let dev = Cpu::default();
/// let server = Server::new("tiny", Served::new(Tiny::<Cpu>::new(&dev, 0), dev).unwrap(), ServeConfig::default());
/// assert_eq!(server.name(), "tiny");
/// ```
pub struct Server {
    name: String,
    model: Box<dyn Servable>,
    config: ServeConfig,
}

impl Server {
    /// A server for `model` under `name` (the `{name}` of every route).
    pub fn new(name: &str, model: impl Servable, config: ServeConfig) -> Self {
        Self { name: name.to_string(), model: Box::new(model), config }
    }

    /// The served name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Serves on `listener` until `shutdown` completes; then it stops accepting connections,
    /// answers every request already received, and returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let metrics = Arc::new(Metrics::new(&self.name));
        let (input_dims, output_dims) =
            (self.model.input_dims().to_vec(), self.model.output_dims().to_vec());
        let c = self.config;
        let batcher = batcher::Batcher::start(self.model, c.batching, c.queue, metrics.clone())?;
        let app = Arc::new(routes::App {
            name: self.name,
            version: c.version,
            input_name: c.input_name,
            output_name: c.output_name,
            input_dims,
            output_dims,
            body_limit: c.body_limit,
            metrics,
            batcher,
        });
        let router = Router::new().fallback(routes::dispatch).with_state(app);
        axum::serve(listener, router).with_graceful_shutdown(shutdown).await
    }

    /// Serves on `addr` (`"127.0.0.1:8501"`) until Ctrl-C, on a runtime of its own.
    pub fn run(self, addr: &str) -> std::io::Result<()> {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(async move {
            let listener = TcpListener::bind(addr).await?;
            eprintln!(
                "serving \"{}\" on http://{}/v1/models/{} (Ctrl-C stops)",
                self.name,
                listener.local_addr()?,
                self.name
            );
            self.serve(listener, async {
                let _ = tokio::signal::ctrl_c().await;
                eprintln!("stopping: answering the requests already received");
            })
            .await
        })
    }
}
