//! Every kind of bad request gets a 4xx `{"error": ...}` naming what is wrong, and the server
//! goes on answering good ones.

mod support;

use serde_json::{Value, json};
use shapeflow::prelude::*;
use shapeflow_serve::{ServeConfig, Served};
use support::{digits, image, image_json, start};

/// The status and error message of a bad `:predict` body.
async fn rejected(s: &support::Running, body: &str) -> (u16, String) {
    let (code, v) = s.post("/v1/models/digits:predict", body.to_string()).await;
    (code, v["error"].as_str().unwrap_or_else(|| panic!("no error message in {v}")).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_400_with_the_place_named() {
    let (served, _) = digits();
    let config = ServeConfig { body_limit: 64 << 10, ..ServeConfig::default() };
    let s = start("digits", served, config).await;
    let good = image_json(&image(1));
    let mut with_string = good.clone();
    with_string[0][3][5] = json!("x");
    let mut with_nan = good.clone();
    with_nan[0][0][0] = json!("NaN");
    let mut short_row = good.clone();
    short_row[0][7].as_array_mut().unwrap().pop();
    let mut too_big = good.clone();
    too_big[0][2][1] = json!(1e39);
    let cases: Vec<(String, &str)> = vec![
        ("{\"instances\": [".into(), "the request body is not JSON: EOF while parsing"),
        ("[1, 2]".into(), "must be a JSON object with \"instances\" or \"inputs\", got a list"),
        ("{}".into(), "neither \"instances\" (row format) nor \"inputs\""),
        (
            json!({"instances": [], "inputs": []}).to_string(),
            "either \"instances\" or \"inputs\", not both",
        ),
        (json!({"instances": []}).to_string(), "\"instances\" is empty"),
        (json!({"instance": [good]}).to_string(), "unknown field \"instance\""),
        (
            json!({"signature_name": "classify", "instances": [good]}).to_string(),
            "signature_name \"classify\"",
        ),
        (
            json!({"instances": [with_string]}).to_string(),
            "instances[0][0][3][5]: expected a number, got a string \"x\"",
        ),
        (
            json!({"instances": [good, with_nan]}).to_string(),
            "instances[1][0][0][0]: expected a number, got a string \"NaN\"",
        ),
        (
            json!({"instances": [short_row]}).to_string(),
            "instances[0][0][7]: expected a list of 8 values (the input's shape is [1, 8, 8]), got a list of 7",
        ),
        (
            json!({"instances": [too_big]}).to_string(),
            "instances[0][0][2][1]: 1e+39 is not a finite 32-bit float",
        ),
        ("{\"instances\": [1e999]}".into(), "number out of range"),
        (
            json!({"instances": [{"pixels": good}]}).to_string(),
            "instances[0]: unknown input \"pixels\"; the model's one input is \"input\"",
        ),
        (
            json!({"inputs": {"input": [[[1, 2]]]}}).to_string(),
            "inputs.input[0][0]: expected a list of 8 values (the input's shape is [1, 8, 8]), got a list of 2",
        ),
        (
            json!({"inputs": {"input": [[1, 2]]}}).to_string(),
            "inputs.input[0]: expected a list of 1 value (the input's shape is [1, 8, 8]), got a list of 2",
        ),
        (
            json!({"inputs": 3}).to_string(),
            "inputs must be a list of instances (the batch first), got a number",
        ),
    ];
    for (body, want) in &cases {
        let (code, msg) = rejected(&s, body).await;
        assert_eq!(code, 400, "{body}: {msg}");
        assert!(msg.contains(want), "{body}:\n  got  {msg}\n  want {want}");
    }
    // Over the body limit: 413.
    let huge = json!({ "instances": vec![good.clone(); 200] }).to_string();
    assert!(huge.len() > 64 << 10);
    let (code, msg) = rejected(&s, &huge).await;
    assert_eq!(
        (code, msg.as_str()),
        (413, "the request body is larger than the limit of 65536 bytes")
    );
    // Still serving.
    let (code, body) =
        s.post("/v1/models/digits:predict", json!({ "instances": [good] }).to_string()).await;
    assert_eq!(code, 200, "{body}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_routes_names_versions_and_methods() {
    let (served, _) = digits();
    let s = start("digits", served, ServeConfig::default()).await;
    let err = |v: Value| v["error"].as_str().unwrap().to_string();
    let (code, v) = s.get("/v1/models/mnist").await;
    assert_eq!(
        (code, err(v).as_str()),
        (404, "no model named \"mnist\": this server serves \"digits\"")
    );
    let (code, v) = s.get("/v1/models/digits/versions/2").await;
    assert_eq!(
        (code, err(v).as_str()),
        (404, "model \"digits\" has no version 2: it serves version 1")
    );
    let (code, v) = s.get("/v1/models/digits:predict").await;
    assert_eq!((code, err(v).as_str()), (405, "/v1/models/digits:predict takes POST, not GET"));
    let (code, v) = s.post("/v1/models/digits", "{}").await;
    assert_eq!(code, 405, "{v}");
    let (code, v) = s.post("/v1/models/digits:classify", "{}").await;
    assert_eq!(code, 501, "{v}");
    let (code, v) = s.get("/v2/models/digits").await;
    assert_eq!(code, 404);
    assert!(err(v).contains("POST /v1/models/digits:predict"));
    s.shutdown().await;
}

model! {
    /// One linear layer, for outputs driven to infinity.
    pub struct Scale { input: [2], fc: Linear<2, 1> }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_finite_output_names_the_instance_and_spares_the_others() {
    let dev = Cpu::default();
    let mut model = Scale::<Cpu>::new(&dev, 0);
    model.fc.weight = Tensor::from_vec(&dev, &[1, 2], vec![1e30, 1e30]).unwrap();
    let s = start("digits", Served::new(model, dev).unwrap(), ServeConfig::default()).await;
    let (code, v) = s
        .post("/v1/models/digits:predict", json!({"instances": [[1, 2], [3e10, 1e10]]}).to_string())
        .await;
    assert_eq!(code, 400);
    assert_eq!(
        v["error"],
        "the model's output for instance 1 is not finite (inf): check that instance's values"
    );
    let (code, v) =
        s.post("/v1/models/digits:predict", json!({"instances": [[1, 2]]}).to_string()).await;
    assert_eq!((code, v["predictions"][0][0].as_f64().map(|x| x > 1e30)), (200, Some(true)));
    s.shutdown().await;
}

model! {
    /// Four token ids per instance.
    pub struct Bag { input: [4], emb: Embedding<10, 3>, flat: Flatten, fc: Linear<12, 2> }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_id_outside_the_table_is_400_naming_it_and_spares_other_requests() {
    let dev = Cpu::default();
    let s =
        start("bag", Served::new(Bag::<Cpu>::new(&dev, 0), dev).unwrap(), ServeConfig::default())
            .await;
    let bad = json!({"instances": [[1, 2, 3, 4], [1, 2, 30, 4]]}).to_string();
    let good = json!({"instances": [[1, 2, 3, 4]]}).to_string();
    // Sent together, so that they may share a batch.
    let ((bad_code, bad_v), (good_code, good_v)) =
        tokio::join!(s.post("/v1/models/bag:predict", bad), s.post("/v1/models/bag:predict", good));
    assert_eq!(bad_code, 400);
    assert_eq!(
        bad_v["error"],
        "Embedding: token id 30 at sample 1, position 2 is not an id of this table of 10 rows (ids are whole numbers in 0..10)"
    );
    assert_eq!(good_code, 200, "{good_v}");
    assert_eq!(good_v["predictions"][0].as_array().map(Vec::len), Some(2));
    s.shutdown().await;
}
