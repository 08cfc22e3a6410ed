//! Every endpoint over real HTTP on the loopback, answers checked against the model run directly.

mod support;

use serde_json::{Value, json};
use shapeflow_serve::ServeConfig;
use support::{digits, image, image_json, reference, rows, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_metadata_follow_tf_serving() {
    let (served, _) = digits();
    let s = start("digits", served, ServeConfig::default()).await;
    let (code, body) = s.get("/v1/models/digits").await;
    assert_eq!(code, 200);
    assert_eq!(
        body,
        json!({"model_version_status": [{"version": "1", "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]})
    );
    assert_eq!(s.get("/v1/models/digits/versions/1").await.0, 200);
    let (code, meta) = s.get("/v1/models/digits/metadata").await;
    assert_eq!(code, 200);
    let sig = &meta["metadata"]["signature_def"]["signature_def"]["serving_default"];
    let sizes = |v: &Value| -> Vec<String> {
        v["tensor_shape"]["dim"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["size"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(sizes(&sig["inputs"]["input"]), ["-1", "1", "8", "8"]);
    assert_eq!(sizes(&sig["outputs"]["output"]), ["-1", "10"]);
    assert_eq!(sig["inputs"]["input"]["dtype"], "DT_FLOAT");
    assert_eq!(meta["model_spec"]["name"], "digits");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_in_row_and_columnar_formats_matches_the_model() {
    let (served, model) = digits();
    let s = start("digits", served, ServeConfig::default()).await;
    let x: Vec<f32> = (0..3).flat_map(image).collect();
    let want = reference(&model, &x, 3);
    let instances: Vec<Value> = (0..3).map(|i| image_json(&image(i))).collect();
    let check = |got: Vec<Vec<f32>>| {
        assert_eq!(got.len(), 3);
        // Written as the shortest decimal of each f32, read back exactly.
        assert_eq!(got.concat(), want);
    };

    let (code, body) =
        s.post("/v1/models/digits:predict", json!({ "instances": instances }).to_string()).await;
    assert_eq!(code, 200, "{body}");
    check(rows(&body["predictions"]));

    let named: Vec<Value> = instances.iter().map(|i| json!({ "input": i })).collect();
    let body = json!({ "signature_name": "serving_default", "instances": named }).to_string();
    let (code, body) = s.post("/v1/models/digits/versions/1:predict", body).await;
    assert_eq!(code, 200, "{body}");
    check(rows(&body["predictions"]));

    let (code, body) =
        s.post("/v1/models/digits:predict", json!({ "inputs": instances }).to_string()).await;
    assert_eq!(code, 200, "{body}");
    check(rows(&body["outputs"]));

    let body = json!({ "inputs": { "input": instances } }).to_string();
    let (code, body) = s.post("/v1/models/digits:predict", body).await;
    assert_eq!(code, 200, "{body}");
    check(rows(&body["outputs"]));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_latency_and_batch_sizes() {
    let (served, _) = digits();
    let s = start("digits", served, ServeConfig::default()).await;
    let one = json!({ "instances": [image_json(&image(0))] }).to_string();
    for _ in 0..3 {
        assert_eq!(s.post("/v1/models/digits:predict", one.clone()).await.0, 200);
    }
    assert_eq!(s.post("/v1/models/digits:predict", "{").await.0, 400);
    let (code, text) = s.get("/metrics").await;
    assert_eq!(code, 200);
    let text = text.as_str().unwrap().to_string();
    let line = |prefix: &str| -> f64 {
        let l = text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}"));
        l.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let predict = "model=\"digits\",endpoint=\"predict\"";
    assert_eq!(line(&format!("shapeflow_requests_total{{{predict},code=\"200\"}}")), 3.0);
    assert_eq!(line(&format!("shapeflow_requests_total{{{predict},code=\"400\"}}")), 1.0);
    assert_eq!(line(&format!("shapeflow_request_latency_seconds_count{{{predict}}}")), 4.0);
    assert_eq!(line("shapeflow_batch_size_count{model=\"digits\"}"), 3.0);
    assert!(line(&format!("shapeflow_request_latency_seconds_sum{{{predict}}}")) > 0.0);
    assert_eq!(s.get("/monitoring/prometheus/metrics").await.0, 200);
    s.shutdown().await;
}
