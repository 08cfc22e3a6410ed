//! The HTTP API: TF Serving's model status, metadata and `:predict` routes, and `/metrics`.
//! Every error is `{"error": "..."}` with a 4xx status for the client's mistakes.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::batcher::{Batcher, Failed, Job, Rejected};
use crate::metrics::Metrics;
use crate::request::parse_predict;
use crate::response::predictions_json;

/// What the handlers share.
pub(crate) struct App {
    pub name: String,
    pub version: String,
    pub input_name: String,
    pub output_name: String,
    pub input_dims: Vec<usize>,
    pub output_dims: Vec<usize>,
    pub body_limit: usize,
    pub body_timeout: std::time::Duration,
    /// Bytes of request bodies and parsed inputs held at once (`ServeConfig::memory_budget`).
    pub budget: Arc<Semaphore>,
    pub metrics: Arc<Metrics>,
    pub batcher: Batcher,
}

/// An error answer: a status and the message for `{"error": ...}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.0, json!({ "error": self.1 }).to_string())
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The route a path names.
enum Route {
    Status,
    Metadata,
    Predict,
    Metrics,
}

/// Every request: routed by hand (TF Serving's `name:predict` puts the verb inside a path
/// segment), answered, and counted.
pub(crate) async fn dispatch(State(app): State<Arc<App>>, req: Request) -> Response {
    let start = Instant::now();
    let (endpoint, response) = match route(&app, req.method(), req.uri().path()) {
        Err(e) => ("other", e.into_response()),
        Ok(Route::Metrics) => ("metrics", metrics(&app)),
        Ok(Route::Status) => ("status", status(&app)),
        Ok(Route::Metadata) => ("metadata", metadata(&app)),
        Ok(Route::Predict) => {
            let r = predict(&app, req.into_body()).await;
            ("predict", r.unwrap_or_else(|e| e))
        }
    };
    app.metrics.record_request(endpoint, response.status().as_u16(), start.elapsed());
    response
}

/// Which route `path` names, checking the model name, version and method.
fn route(app: &App, method: &Method, path: &str) -> Result<Route, ApiError> {
    let not_found = || {
        ApiError(
            StatusCode::NOT_FOUND,
            format!(
                "no route {path}: this server answers GET /v1/models/{0}, GET /v1/models/{0}/metadata, \
                 POST /v1/models/{0}:predict and GET /metrics",
                app.name
            ),
        )
    };
    let want = |m: Method, r: Route| {
        if method == m {
            Ok(r)
        } else {
            Err(ApiError(StatusCode::METHOD_NOT_ALLOWED, format!("{path} takes {m}, not {method}")))
        }
    };
    if path == "/metrics" || path == "/monitoring/prometheus/metrics" {
        return want(Method::GET, Route::Metrics);
    }
    let rest = path.strip_prefix("/v1/models/").ok_or_else(not_found)?;
    let (model, verb) = match rest.rsplit_once(':') {
        Some((m, v)) => (m, Some(v)),
        None => (rest, None),
    };
    let mut parts: Vec<&str> = model.split('/').collect();
    let name = parts.remove(0);
    if name != app.name {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no model named \"{name}\": this server serves \"{}\"", app.name),
        ));
    }
    if let ["versions" | "labels", v, ..] = parts[..] {
        if v != app.version && parts[0] == "versions" {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("model \"{name}\" has no version {v}: it serves version {}", app.version),
            ));
        }
        parts.drain(..2);
    }
    match (&parts[..], verb) {
        ([], None) => want(Method::GET, Route::Status),
        (["metadata"], None) => want(Method::GET, Route::Metadata),
        ([], Some("predict")) => want(Method::POST, Route::Predict),
        ([], Some(v @ ("classify" | "regress"))) => Err(ApiError(
            StatusCode::NOT_IMPLEMENTED,
            format!("\"{v}\" is not served: use {name}:predict, which returns the model's outputs"),
        )),
        _ => Err(not_found()),
    }
}

fn metrics(app: &App) -> Response {
    let mut r = app.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

fn status(app: &App) -> Response {
    let body = json!({ "model_version_status": [{
        "version": app.version,
        "state": "AVAILABLE",
        "status": { "error_code": "OK", "error_message": "" },
    }]});
    json_response(StatusCode::OK, body.to_string())
}

/// One signature entry: dtype and shape, the batch as `-1`.
fn tensor_info(name: &str, dims: &[usize]) -> Value {
    let mut dim = vec![json!({ "size": "-1", "name": "" })];
    dim.extend(dims.iter().map(|d| json!({ "size": d.to_string(), "name": "" })));
    json!({
        "dtype": "DT_FLOAT",
        "tensor_shape": { "dim": dim, "unknown_rank": false },
        "name": name,
    })
}

fn metadata(app: &App) -> Response {
    let mut inputs = serde_json::Map::new();
    inputs.insert(app.input_name.clone(), tensor_info(&app.input_name, &app.input_dims));
    let mut outputs = serde_json::Map::new();
    outputs.insert(app.output_name.clone(), tensor_info(&app.output_name, &app.output_dims));
    let body = json!({
        "model_spec": { "name": app.name, "signature_name": "", "version": app.version },
        "metadata": { "signature_def": { "signature_def": { "serving_default": {
            "inputs": inputs,
            "outputs": outputs,
            "method_name": "tensorflow/serving/predict",
        }}}},
    });
    json_response(StatusCode::OK, body.to_string())
}

/// How much of a body over the limit is read and dropped before answering 413, so the client,
/// still sending, reads the answer instead of a reset connection.
const DRAIN_MAX: usize = 64 << 20;

/// The request body, or 413 when it is over the limit (the connection then closes), 408 when
/// it does not arrive within the body timeout, 503 when the server's memory budget is spent,
/// 400 when it cannot be read. The permit holds the body's bytes in the budget.
async fn read_body(
    app: &App,
    mut body: Body,
) -> Result<(Vec<u8>, Option<OwnedSemaphorePermit>), Response> {
    let limit = app.body_limit;
    let closing = |status: StatusCode, msg: String| {
        let mut r = ApiError(status, msg).into_response();
        r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    let too_big = || {
        let msg = format!("the request body is larger than the limit of {limit} bytes");
        closing(StatusCode::PAYLOAD_TOO_LARGE, msg)
    };
    let deadline = tokio::time::Instant::now() + app.body_timeout;
    let (mut bytes, mut total, mut held) = (Vec::new(), 0usize, None);
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                let msg = format!(
                    "the request body did not arrive within {} s",
                    app.body_timeout.as_secs_f64()
                );
                return Err(closing(StatusCode::REQUEST_TIMEOUT, msg));
            }
        };
        let frame = frame.map_err(|e| {
            let msg = format!("the request body could not be read: {e}");
            ApiError(StatusCode::BAD_REQUEST, msg).into_response()
        })?;
        let Ok(data) = frame.into_data() else { continue };
        total += data.len();
        if total > limit.saturating_add(DRAIN_MAX) {
            return Err(too_big());
        }
        if total <= limit {
            charge(app, &mut held, data.len())
                .map_err(|m| closing(StatusCode::SERVICE_UNAVAILABLE, m))?;
            bytes.extend_from_slice(&data);
        }
    }
    if total > limit { Err(too_big()) } else { Ok((bytes, held)) }
}

/// Adds `bytes` to what this request holds of the memory budget, or says why it cannot.
fn charge(app: &App, held: &mut Option<OwnedSemaphorePermit>, bytes: usize) -> Result<(), String> {
    if bytes == 0 {
        return Ok(());
    }
    let more = u32::try_from(bytes)
        .ok()
        .and_then(|n| app.budget.clone().try_acquire_many_owned(n).ok())
        .ok_or_else(|| {
            "the server holds as many request bytes as its memory budget allows: retry shortly"
                .to_string()
        })?;
    match held {
        Some(p) => p.merge(more),
        None => *held = Some(more),
    }
    Ok(())
}

async fn predict(app: &App, body: Body) -> Result<Response, Response> {
    let (bytes, mut held) = read_body(app, body).await?;
    // The parsed values: at most one per two bytes of the body, four bytes each.
    charge(app, &mut held, 2 * bytes.len())
        .map_err(|m| ApiError(StatusCode::SERVICE_UNAVAILABLE, m).into_response())?;
    let answer = predict_parsed(app, bytes).await.map_err(IntoResponse::into_response);
    drop(held);
    answer
}

async fn predict_parsed(app: &App, bytes: Vec<u8>) -> Result<Response, ApiError> {
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
    let (input, dims) = (app.input_name.as_str(), app.input_dims.as_slice());
    // A large body is parsed off the runtime's threads.
    let parsed = if bytes.len() < 1 << 18 {
        parse_predict(&bytes, input, dims)
    } else {
        let (input, dims) = (input.to_string(), dims.to_vec());
        tokio::task::spawn_blocking(move || parse_predict(&bytes, &input, &dims))
            .await
            .map_err(|e| bad(format!("the request could not be parsed: {e}")))?
    }
    .map_err(bad)?;
    let (reply, answer) = oneshot::channel();
    let job = Job { values: parsed.values, batch: parsed.batch, reply };
    app.batcher.submit(job).map_err(|e| match e {
        Rejected::Busy => ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server's queue is full: retry shortly".to_string(),
        ),
        Rejected::Stopped => {
            ApiError(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down".to_string())
        }
    })?;
    let out = answer
        .await
        .map_err(|_| {
            ApiError(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down".to_string())
        })?
        .map_err(|e| match e {
            Failed::Model(m) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, m),
            Failed::NonFinite(m) => ApiError(StatusCode::BAD_REQUEST, m),
            Failed::Input(m) => ApiError(StatusCode::BAD_REQUEST, m),
        })?;
    Ok(json_response(StatusCode::OK, predictions_json(&out, &app.output_dims, parsed.format)))
}
