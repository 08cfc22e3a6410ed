//! Dynamic batching, a bounded load test, a full queue, a panicking model and graceful shutdown,
//! all over real HTTP on the loopback.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use shapeflow::Result;
use shapeflow_serve::{Batching, Servable, ServeConfig};
use support::{assert_rows_close, digits, image, image_json, reference, rows, start};

/// A model that records each forward pass's batch size, can be made slow or to panic, and
/// answers each sample with its first value doubled.
#[derive(Clone, Default)]
struct Probe {
    batches: Arc<Mutex<Vec<usize>>>,
    delay: Duration,
    panic_on: Option<f32>,
}

impl Servable for Probe {
    fn input_dims(&self) -> &[usize] {
        &[2]
    }
    fn output_dims(&self) -> &[usize] {
        &[1]
    }
    fn predict(&self, inputs: &[f32], batch: usize) -> Result<Vec<f32>> {
        self.batches.lock().unwrap().push(batch);
        std::thread::sleep(self.delay);
        if let Some(p) = self.panic_on
            && inputs.contains(&p)
        {
            panic!("the probe was told to panic");
        }
        Ok(inputs.chunks(2).map(|s| 2.0 * s[0]).collect())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_share_forward_passes_and_get_their_own_rows() {
    let probe = Probe { delay: Duration::from_millis(20), ..Probe::default() };
    let batches = probe.batches.clone();
    let config = ServeConfig {
        batching: Batching { max_batch: 16, max_wait: Duration::from_millis(10) },
        ..ServeConfig::default()
    };
    let s = Arc::new(start("probe", probe, config).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({ "instances": [[i as f32, 0.0]] }).to_string();
            let (code, v) = s.post("/v1/models/probe:predict", body).await;
            assert_eq!(code, 200, "{v}");
            assert_eq!(v["predictions"], json!([[2 * i]]));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let batches = batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 40);
    assert!(batches.iter().all(|&b| b <= 16), "{batches:?}");
    assert!(batches.len() < 40, "no request was merged: {batches:?}");
    // A request bigger than the largest batch runs in several passes.
    let big: Vec<[f32; 2]> = (0..40).map(|i| [i as f32, 1.0]).collect();
    let (code, v) =
        s.post("/v1/models/probe:predict", json!({ "instances": big }).to_string()).await;
    assert_eq!(code, 200);
    assert_eq!(v["predictions"].as_array().unwrap().len(), 40);
    assert_eq!(v["predictions"][39], json!([78]));
    Arc::into_inner(s).unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bounded_load_test_has_no_failed_or_wrong_answers() {
    let (served, model) = digits();
    let s = Arc::new(start("digits", served, ServeConfig::default()).await);
    let wanted: Arc<Vec<Vec<f32>>> =
        Arc::new((0..8).map(|i| reference(&model, &image(i), 1)).collect());
    let (ok, end) = (Arc::new(AtomicUsize::new(0)), Instant::now() + Duration::from_secs(2));
    let mut clients = Vec::new();
    for c in 0..24 {
        let (s, wanted, ok) = (s.clone(), wanted.clone(), ok.clone());
        clients.push(tokio::spawn(async move {
            let mut k = c;
            while Instant::now() < end {
                let i = k % 8;
                let body = json!({ "instances": [image_json(&image(i))] }).to_string();
                let (code, v) = s.post("/v1/models/digits:predict", body).await;
                assert_eq!(code, 200, "{v}");
                let what = format!("client {c}");
                assert_rows_close(&rows(&v["predictions"]), &[wanted[i].clone()], &what);
                ok.fetch_add(1, Ordering::Relaxed);
                k += 1;
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    assert!(ok.load(Ordering::Relaxed) >= 24);
    Arc::into_inner(s).unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_is_503_and_a_panic_is_500_and_serving_goes_on() {
    let probe =
        Probe { delay: Duration::from_millis(300), panic_on: Some(-7.0), ..Probe::default() };
    let config = ServeConfig { batching: Batching::off(), queue: 1, ..ServeConfig::default() };
    let s = Arc::new(start("probe", probe, config).await);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({ "instances": [[i as f32, 0.0]] }).to_string();
            s.post("/v1/models/probe:predict", body).await
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut codes = Vec::new();
    for t in tasks {
        let (code, v) = t.await.unwrap();
        if code == 503 {
            assert_eq!(v["error"], "the server's queue is full: retry shortly");
        }
        codes.push(code);
    }
    assert!(codes.contains(&200) && codes.contains(&503), "{codes:?}");
    let (code, v) = s.post("/v1/models/probe:predict", "{\"instances\": [[-7, 0]]}").await;
    assert_eq!(
        (code, &v["error"]),
        (500, &json!("the model's forward pass panicked on this batch"))
    );
    let (code, v) = s.post("/v1/models/probe:predict", "{\"instances\": [[3, 0]]}").await;
    assert_eq!((code, &v["predictions"]), (200, &json!([[6]])));
    Arc::into_inner(s).unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graceful_shutdown_answers_requests_in_flight_then_refuses_connections() {
    let probe = Probe { delay: Duration::from_millis(300), ..Probe::default() };
    let started = probe.batches.clone();
    let mut s = start("probe", probe, ServeConfig::default()).await;
    let (client, url) = (s.client.clone(), format!("{}/v1/models/probe:predict", s.base));
    let in_flight = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move { client.post(url).body("{\"instances\": [[4, 0]]}").send().await }
    });
    // Shut down once the request is inside the model.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while started.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = s.stop.take().unwrap().send(());
    let r = in_flight.await.unwrap().expect("the request in flight is answered");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "{\"predictions\":[[8]]}");
    tokio::time::timeout(Duration::from_secs(10), &mut s.task).await.unwrap().unwrap().unwrap();
    let after = reqwest::Client::new().post(url).body("{}").send().await;
    assert!(after.is_err(), "the server still answers after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_small_request_waits_for_one_slice_of_a_large_one_not_all_of_it() {
    let probe = Probe { delay: Duration::from_millis(20), ..Probe::default() };
    let batches = probe.batches.clone();
    let config = ServeConfig {
        batching: Batching { max_batch: 16, max_wait: Duration::from_millis(1) },
        ..ServeConfig::default()
    };
    let s = Arc::new(start("probe", probe, config).await);
    let big = json!({ "instances": (0..160).map(|i| [i as f32, 0.0]).collect::<Vec<_>>() });
    let (s1, s2) = (s.clone(), s.clone());
    let large = tokio::spawn(async move {
        let (code, v) = s1.post("/v1/models/probe:predict", big.to_string()).await;
        assert_eq!(code, 200);
        assert_eq!(v["predictions"][159], json!([318]));
        Instant::now()
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let small = tokio::spawn(async move {
        let (code, v) =
            s2.post("/v1/models/probe:predict", json!({"instances": [[7, 0]]}).to_string()).await;
        assert_eq!((code, &v["predictions"]), (200, &json!([[14]])));
        Instant::now()
    });
    let (large, small) = (large.await.unwrap(), small.await.unwrap());
    assert!(small < large, "the batch-1 request finished after the 160-sample one");
    // Ten slices of 16 for the large request; the small one rode in one of them or its own.
    let passes = batches.lock().unwrap().clone();
    assert!(passes.iter().all(|&n| n <= 16), "{passes:?}");
    assert_eq!(passes.iter().sum::<usize>(), 161, "{passes:?}");
    Arc::try_unwrap(s).ok().unwrap().shutdown().await;
}
