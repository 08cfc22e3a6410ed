//! The page in headless Chromium: `build.sh` builds the WebAssembly module, the page's own code
//! path (`www/digits.js` on `www/shapeflow.js`) classifies MNIST test images with a checkpoint,
//! and every logit must agree with the native CPU backend within 1e-5 relative and every class
//! exactly; a corrupt checkpoint and a wrong input length must show their errors in the page.
//! Without Debian's rustc-web, lld-22 or Chromium it prints why and skips, unless
//! `SHAPEFLOW_REQUIRE_WASM=1` (set by `.ci/run`), where that is a failure. It checks the
//! simd128 module the page loads; `SHAPEFLOW_WASM_SCALAR=1` adds the scalar one.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shapeflow::prelude::*;

const IMAGES: usize = 32;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Whether the tools are here; `false` (after printing why) when not and not required.
fn tools_present() -> bool {
    let missing: Vec<&str> = [
        ("/usr/bin/cargo", "rustc-web's cargo"),
        ("/usr/lib/rustlib/src/rust/library", "rust-web-src"),
        ("/usr/bin/wasm-ld-22", "lld-22"),
        ("/usr/bin/chromium", "chromium"),
        ("/usr/bin/chromedriver", "chromium-driver"),
    ]
    .into_iter()
    .filter(|(p, _)| !Path::new(p).exists())
    .map(|(_, what)| what)
    .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("missing {} (.ci/run installs them from Debian)", missing.join(", "));
    if std::env::var("SHAPEFLOW_REQUIRE_WASM").is_ok_and(|v| v == "1") {
        panic!("SHAPEFLOW_REQUIRE_WASM=1 but {why}");
    }
    shapeflow::skip_test(why);
    false
}

/// A static file server on a free loopback port, killed when dropped.
struct Server(Child, u16);

impl Server {
    fn start(dir: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Server(child, port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver(Child, String);

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if ureq::get(&format!("{base}/status")).call().is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver(child, base)
    }

    /// Opens `url` in headless Chromium and waits (up to two minutes) until the page's
    /// `#result` holds its JSON; returns it.
    fn run_page(&self, url: &str, profile: &Path) -> Value {
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
        }}});
        let mut r = ureq::post(&format!("{}/session", self.1)).send_json(&caps).expect("a session");
        let v: Value = r.body_mut().read_json().unwrap();
        let session = format!("{}/session/{}", self.1, v["value"]["sessionId"].as_str().unwrap());
        ureq::post(&format!("{session}/url")).send_json(json!({ "url": url })).expect("navigates");
        let script = json!({
            "script": "const r = document.getElementById('result'); return r ? r.textContent : 'running';",
            "args": []
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let text = loop {
            let mut r = ureq::post(&format!("{session}/execute/sync")).send_json(&script).unwrap();
            let v: Value = r.body_mut().read_json().unwrap();
            let text = v["value"].as_str().unwrap_or("running").to_string();
            if text != "running" || Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let _ = ureq::delete(&session).call();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: the page's result is {text}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_page_classifies_mnist_like_the_native_backend() {
    if !tools_present() {
        return;
    }
    let root = root();
    // The simd128 module, which the page loads; the scalar one too with SHAPEFLOW_WASM_SCALAR=1
    // (another clean build of about two and a half minutes on two cores), for its figures.
    let scalar = std::env::var("SHAPEFLOW_WASM_SCALAR").is_ok_and(|v| v == "1");
    let mut build = Command::new(root.join("examples/web-mnist/build.sh"));
    if !scalar {
        build.arg("--simd-only");
    }
    assert!(build.status().expect("build.sh runs").success(), "examples/web-mnist/build.sh failed");
    let modules: &[&str] =
        if scalar { &["web_mnist.wasm", "web_mnist_simd.wasm"] } else { &["web_mnist_simd.wasm"] };
    let dir = std::env::temp_dir().join(format!("shapeflow-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["shapeflow.js", "digits.js", "test.html"].iter().chain(modules) {
        std::fs::copy(root.join("examples/web-mnist/www").join(f), dir.join(f)).unwrap();
    }
    // A checkpoint, a copy with one flipped byte, and MNIST test images with native logits.
    let dev = Cpu::default();
    let model = mnist_cnn::LeNet::<Cpu>::new(&dev, 42);
    shapeflow::checkpoint::save(&model, dir.join("model.safetensors")).unwrap();
    let mut bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 0x40;
    std::fs::write(dir.join("corrupt.safetensors"), &bytes).unwrap();
    let test = Mnist::load(root.join("data/mnist")).unwrap().test;
    let images: Vec<Vec<f32>> = (0..IMAGES).map(|i| test.sample(i).to_vec()).collect();
    std::fs::write(dir.join("test-images.json"), serde_json::to_string(&images).unwrap()).unwrap();
    let pixels: Vec<f32> = images.concat().iter().map(|p| (p - 0.1307) / 0.3081).collect();
    let x = Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::from_batch(&dev, IMAGES, pixels)
        .unwrap();
    let native = model.forward(&x).to_vec();
    // The native backend one image at a time, for the figures the test prints.
    let start = Instant::now();
    for i in 0..IMAGES {
        let one = x.to_vec()[i * 784..(i + 1) * 784].to_vec();
        let t =
            Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::from_batch(&dev, 1, one).unwrap();
        std::hint::black_box(model.forward(&t));
    }
    println!("native: {:.3} ms per image", start.elapsed().as_secs_f64() * 1e3 / IMAGES as f64);

    let server = Server::start(&dir);
    let driver = Driver::start();
    for &wasm in modules {
        let url = format!("http://127.0.0.1:{}/test.html?wasm={wasm}", server.1);
        let r = driver.run_page(&url, &dir.join(format!("profile-{wasm}")));
        assert!(r.get("error").is_none(), "{wasm}: the page failed: {}", r["error"]);
        let predictions = r["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), IMAGES);
        for (i, p) in predictions.iter().enumerate() {
            let logits: Vec<f64> =
                p["logits"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let want = &native[i * 10..(i + 1) * 10];
            for (c, (&g, &w)) in logits.iter().zip(want).enumerate() {
                assert!(
                    (g - w as f64).abs() <= 1e-5 * (w as f64).abs().max(1.0),
                    "{wasm}: image {i}, logit {c}: page {g}, native {w}"
                );
            }
            let class = (0..10).find(|&c| want.iter().all(|&v| v <= want[c])).unwrap();
            assert_eq!(p["digit"].as_u64(), Some(class as u64), "{wasm}: image {i}");
        }
        let corrupt = r["corrupt"].as_str().unwrap();
        assert!(corrupt.starts_with("model.safetensors: checksum mismatch"), "{wasm}: {corrupt}");
        assert_eq!(
            r["wrong_length"],
            "expected a whole number of 28×28 images (784 values each), got 100 values"
        );
        println!(
            "{wasm}: {} bytes, first prediction {:.0} ms after load start, {:.3} ms per image",
            std::fs::metadata(dir.join(wasm)).unwrap().len(),
            r["first_prediction_ms"].as_f64().unwrap_or(f64::NAN),
            r["per_image_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
}
