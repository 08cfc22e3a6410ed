//! `serve`: the model server under load. The MNIST CNN (`mnist_cnn::LeNet`) served on the
//! loopback, 32 concurrent clients sending batch-1 `:predict` requests for 3 s, with and without
//! dynamic batching: requests/s and the p50/p99 latency. Clients and server share the machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shapeflow::prelude::*;
use shapeflow_serve::{Batching, ServeConfig, Served, Server};

use crate::figure::Figure;

const CLIENTS: usize = 32;
const SECONDS: f64 = 3.0;

pub fn serve_load(figures: &mut Vec<Figure>) {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return eprintln!("serve: no tokio runtime ({e}); skipped"),
    };
    for (label, batching) in [("batching", Batching::default()), ("no-batching", Batching::off())] {
        match runtime.block_on(run(batching)) {
            Ok((rps, p50, p99)) => {
                let param = format!("{label} c{CLIENTS}");
                figures.push(Figure::new("shapeflow", "serve", &param, "req/s", [rps]));
                figures.push(Figure::new("shapeflow", "serve-p50", &param, "ms", [p50]));
                figures.push(Figure::new("shapeflow", "serve-p99", &param, "ms", [p99]));
            }
            Err(e) => eprintln!("serve ({label}): {e}"),
        }
    }
}

/// One run: requests/s, p50 and p99 in milliseconds.
async fn run(batching: Batching) -> Result<(f64, f64, f64), String> {
    let dev = Cpu::default();
    let model = mnist_cnn::LeNet::<Cpu>::new(&dev, 0);
    let served = Served::new(model, dev).map_err(|e| e.to_string())?;
    let config = ServeConfig { batching, ..ServeConfig::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}/v1/models/mnist:predict", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Server::new("mnist", served, config).serve(listener, async {
        let _ = stopped.await;
    }));
    let pixels: Vec<String> = (0..784).map(|i| format!("{:.3}", (i % 17) as f32 / 17.0)).collect();
    let body: Arc<str> = format!("{{\"instances\": [[[{}]]]}}", rows(&pixels)).into();
    let client = reqwest::Client::new();
    let end = Instant::now() + Duration::from_secs_f64(SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                let r = client.post(&url).body(body.to_string()).send().await;
                let r = r.map_err(|e| e.to_string())?;
                let status = r.status();
                if !status.is_success() || r.bytes().await.is_err() {
                    return Err(format!("status {status}"));
                }
                latencies.push(t.elapsed().as_secs_f64() * 1e3);
            }
            Ok(latencies)
        }));
    }
    let start = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = server.await;
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    if all.is_empty() {
        return Err("no request was answered".into());
    }
    Ok((all.len() as f64 / elapsed, at(0.5), at(0.99)))
}

/// 784 pixels as one 28×28 image's rows.
fn rows(pixels: &[String]) -> String {
    let rows: Vec<String> = pixels.chunks(28).map(|r| format!("[{}]", r.join(","))).collect();
    rows.join(",")
}
