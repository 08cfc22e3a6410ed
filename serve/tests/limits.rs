//! The server's limits under hostile clients, from a raw TCP client on the loopback: a
//! connection over the limit, headers or a body that never finish, requests beyond the
//! memory budget, and a shutdown that completes whatever a client holds open.

mod support;

use std::time::{Duration, Instant};

use shapeflow_serve::ServeConfig;
use support::{digits, image, image_json, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection to `base` (`http://host:port`).
async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://")).await.unwrap()
}

/// Everything the server sends until it closes the connection (at most `within`).
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server kept the connection open past {within:?}");
    String::from_utf8_lossy(&out).into_owned()
}

fn predict_head(len: usize) -> String {
    format!(
        "POST /v1/models/digits:predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_over_the_limit_is_503_and_closed() {
    let (served, _) = digits();
    let s = start("digits", served, ServeConfig { max_connections: 2, ..Default::default() }).await;
    let (_a, _b) = (connect(&s.base).await, connect(&s.base).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut c = connect(&s.base).await;
    let answer = read_to_close(&mut c, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("limit of 2 open connections"), "{answer}");
    drop((_a, _b));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (code, _) = s.get("/v1/models/digits").await;
    assert_eq!(code, 200, "served again once the others closed");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_that_never_finish_and_idle_connections_are_closed() {
    let (served, _) = digits();
    let config = ServeConfig { header_timeout: Duration::from_millis(300), ..Default::default() };
    let s = start("digits", served, config).await;
    let start_at = Instant::now();
    let mut slow = connect(&s.base).await;
    slow.write_all(b"POST /v1/models/digits:predict HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    let mut idle = connect(&s.base).await;
    read_to_close(&mut slow, Duration::from_secs(3)).await;
    read_to_close(&mut idle, Duration::from_secs(3)).await;
    assert!(start_at.elapsed() < Duration::from_secs(2), "{:?}", start_at.elapsed());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_is_408() {
    let (served, _) = digits();
    let config = ServeConfig { body_timeout: Duration::from_millis(300), ..Default::default() };
    let s = start("digits", served, config).await;
    let mut c = connect(&s.base).await;
    c.write_all(predict_head(1000).as_bytes()).await.unwrap();
    c.write_all(b"{\"instances\": [").await.unwrap();
    let answer = read_to_close(&mut c, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("the request body did not arrive within 0.3 s"), "{answer}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_memory_budget_are_503_and_the_rest_are_served() {
    let (served, _) = digits();
    // The budget is raised to 3 × the body limit: one largest request fits, two do not.
    let config = ServeConfig { body_limit: 64 << 10, memory_budget: 0, ..Default::default() };
    let s = start("digits", served, config).await;
    // A client that sends 60 KiB of a body and stalls holds 60 KiB of the budget…
    let mut staller = connect(&s.base).await;
    staller.write_all(predict_head(64 << 10).as_bytes()).await.unwrap();
    staller.write_all(&vec![b' '; 60 << 10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // …so a 60 KiB request, which needs its body and twice that for its values, is refused.
    let mut big = format!("{{\"instances\": [{}]}}", image_json(&image(1))).into_bytes();
    big.resize(60 << 10, b' ');
    let (code, v) = s.post("/v1/models/digits:predict", big).await;
    assert_eq!(code, 503, "{v}");
    assert!(v["error"].as_str().unwrap().contains("memory budget"), "{v}");
    // A small request still fits.
    let small = format!("{{\"instances\": [{}]}}", image_json(&image(2)));
    let (code, v) = s.post("/v1/models/digits:predict", small).await;
    assert_eq!(code, 200, "{v}");
    drop(staller);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_completes_within_the_grace_period_whatever_clients_hold() {
    let (served, _) = digits();
    let config = ServeConfig { shutdown_grace: Duration::from_millis(500), ..Default::default() };
    let mut s = start("digits", served, config).await;
    // A half-sent header and a half-sent body.
    let mut header = connect(&s.base).await;
    header.write_all(b"POST /v1/models/digits:predict HTTP/1.1\r\n").await.unwrap();
    let mut body = connect(&s.base).await;
    body.write_all(predict_head(1000).as_bytes()).await.unwrap();
    body.write_all(b"{\"instances\"").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopped = Instant::now();
    let _ = s.stop.take().unwrap().send(());
    let task = std::mem::replace(&mut s.task, tokio::spawn(async { Ok(()) }));
    tokio::time::timeout(Duration::from_secs(3), task)
        .await
        .expect("the server returns within the grace period")
        .unwrap()
        .unwrap();
    assert!(stopped.elapsed() < Duration::from_millis(1500), "{:?}", stopped.elapsed());
}
