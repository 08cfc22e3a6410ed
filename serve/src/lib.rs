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
mod listen;
mod metrics;
pub mod request;
pub mod response;
mod routes;
mod servable;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use batcher::Batching;
pub use metrics::Metrics;
pub use servable::{Servable, Served};

/// How the server runs.
///
/// ```
/// let c = shapeflow_serve::ServeConfig::default();
/// assert_eq!((c.body_limit, c.queue, c.input_name.as_str()), (16 << 20, 1024, "input"));
/// assert_eq!((c.max_connections, c.header_timeout.as_secs(), c.shutdown_grace.as_secs()), (1024, 10, 10));
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
    /// The most connections open at once; one more is answered 503 and closed unread.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open; the connection is then closed.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body (from its headers); then 408.
    pub body_timeout: Duration,
    /// The bytes of request bodies and parsed inputs held at once, over all requests (a
    /// request holds its body plus 4 bytes per value it may hold, at most 3× its body);
    /// beyond it, 503. Raised to 3 × `body_limit` if lower, so a largest request fits.
    pub memory_budget: usize,
    /// After a shutdown signal, how long requests in flight have to finish; connections still
    /// open then are closed and the server returns.
    pub shutdown_grace: Duration,
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
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            memory_budget: 512 << 20,
            shutdown_grace: Duration::from_secs(10),
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
            body_timeout: c.body_timeout,
            budget: Arc::new(Semaphore::new(c.memory_budget.max(3 * c.body_limit))),
            metrics,
            batcher,
        });
        let router = Router::new().fallback(routes::dispatch).with_state(app);
        let limits = listen::Limits {
            max_connections: c.max_connections,
            header_timeout: c.header_timeout,
            grace: c.shutdown_grace,
        };
        listen::serve(listener, router, limits, shutdown).await
    }

    /// Serves on `addr` (`"127.0.0.1:8501"`) until Ctrl-C (SIGINT) or SIGTERM (what Docker,
    /// Kubernetes and systemd send), on a runtime of its own; then it drains as
    /// [`Server::serve`] does and returns within `shutdown_grace`.
    pub fn run(self, addr: &str) -> std::io::Result<()> {
        let runtime = tokio::runtime::Runtime::new()?;
        let served: std::io::Result<()> = runtime.block_on(async move {
            let listener = TcpListener::bind(addr).await?;
            eprintln!(
                "serving \"{}\" on http://{}/v1/models/{} (Ctrl-C or SIGTERM stops)",
                self.name,
                listener.local_addr()?,
                self.name
            );
            let grace = self.config.shutdown_grace;
            self.serve(listener, async move {
                let signal = stop_signal().await;
                eprintln!(
                    "{signal}: answering the requests in flight (at most {} s), then stopping",
                    grace.as_secs_f64()
                );
            })
            .await
        });
        served?;
        // Connections still open after the grace period end with the runtime, at once.
        runtime.shutdown_background();
        Ok(())
    }
}

/// The first of Ctrl-C (SIGINT) and, on Unix, SIGTERM; its name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
