//! shapeflow benchmarks: the CPU workloads W1–W4 and W7, with optional peers measured in the same run.
//!
//! ```text
//! cargo run --release -p shapeflow-bench -- [w1] [w2] [w3] [w4] [w5] [w6] [w7] [w8] [w9] [ops] [serve] [--json] [--peers]
//! ```
//!
//! * `w1`: f32 GEMM at 512², 1024², 2048² in GFLOP/s, with ndarray's `dot` (matrixmultiply) as
//!   an in-process reference at 1024².
//! * `w2`: training step of the 784-512-256-10 ReLU MLP (forward, cross-entropy, generated
//!   backward, Adam), batch 128, samples/s.
//! * `w3`: training step of the small CNN (conv 1→8 k3, ReLU, max-pool 2, conv 8→16 k3, ReLU,
//!   max-pool 2, flatten 400, linear → 10; cross-entropy; Adam), batch 64, samples/s.
//! * `w7`: training step of a small ResNet (bias-free 3×3 stem of 32 channels, batch norm,
//!   ReLU; three residual blocks conv3×3–BN–ReLU–conv3×3–BN + input, ReLU, max-pool 2 after the
//!   first two; global average pool; linear 32 → 10; cross-entropy; Adam), batch 64, samples/s.
//!   Not in the default set (it takes about a minute with its peer); name it.
//! * `w5`: training step of a character LSTM language model (vocabulary 96, embedding 256,
//!   2-layer LSTM of 256, per-step linear head, per-step cross-entropy, Adam) on 32 sequences of
//!   128 ids; sequences/s and GFLOP/s. Not in the default set; name it.
//! * `w6`: training step of a 2-layer transformer encoder (width 256, 4 heads, feed-forward
//!   1024, GELU, post-norm) on 16 sequences of 128, mean-pooled, linear head to 10 classes,
//!   cross-entropy, Adam; sequences/s and GFLOP/s. Not in the default set; name it.
//! * `decode`: next-character latency (µs) of char-lm's transformer (width 128, 4 heads, 2
//!   pre-norm causal blocks) sampling 112 characters after a 16-character prompt: with the
//!   key/value cache (`per-char`), and recomputing the prefix per character (`recompute`);
//!   with `--peers`, PyTorch's `nn.TransformerEncoder` of the same shape, which has no cache,
//!   recomputing the prefix (reported under both). Not in the default set; name it.
//! * `serve`: the MNIST CNN behind `shapeflow-serve` on the loopback, 32 concurrent clients
//!   sending batch-1 `:predict` requests for 3 s, with and without dynamic batching:
//!   requests/s and p50/p99 latency (ms). Not in the default set; name it.
//! * `w8`: W2's MLP written as free code with the op set (`x.matmul(&w)?.add(&b)?.relu()`,
//!   `log_softmax` + `gather` for the loss) and trained through autograd with Adam, batch 128,
//!   samples/s; with `--peers`, PyTorch eager runs the same code. Not in the default set.
//! * `ops`: GB/s of the op set's kernels (`exp`, `add`, a broadcast row add, sums along each
//!   axis) on 4M-element f32 tensors, beside a plain copy of the same bytes (`copy`). Not in
//!   the default set.
//! * `w9`: torchvision's ResNet-34 (`examples/torchvision-resnet`) at 3×224×224: a training
//!   step at batch 8 (cross-entropy over 1000 classes, SGD with momentum 0.9), samples/s, and
//!   inference at batch 1, ms (lower is better). Not in the default set (about half a minute
//!   with its peer); name it.
//! * `w4`: MLP inference: latency at batch 1 (µs, lower is better) and samples/s at batch 1024.
//! * `gpu-gemm`, `gpu-w2`, `gpu-w3`, `gpu-w7` (with `--features cuda`): a 4096² fp32 GEMM (TF32
//!   off) and the W2/W3/W7 training steps on CUDA device 0, eagerly (`shapeflow`) and replayed
//!   as a CUDA graph (`shapeflow-graph`, [`shapeflow::TrainGraph`]); with `--peers`, PyTorch
//!   CUDA (eager) runs the same.
//! * `--peers`: also runs `bench/peers.py` (PyTorch and JAX, each skipped with a message when not
//!   importable; `$SHAPEFLOW_PYTHON` picks the interpreter) and prints shapeflow/peer ratios,
//!   oriented so that above 1 means shapeflow is better.
//! * `--rounds=N`: runs the chosen workloads (and, with `--peers`, the peers after them) N times
//!   and reports the median of the rounds' medians; each peer's ratio is then the median of the
//!   per-round ratios, printed with their range, so that a slow spell of a noisy machine (shared
//!   cloud vCPUs) weighs on both sides of a ratio instead of on one.
//! * `--json`: one JSON object per line per figure instead of the table.
//! * `--markdown`: a Markdown table (shapeflow, each peer, the ratios, the machine) for the README.
//!
//! The process's peak resident memory is reported last (`rss`, MiB); `w9` also reports its own
//! peak (`peak-rss`: the high-water mark reset when it starts, so memory earlier workloads left
//! in the buffer pools counts too: run it alone for its own figure).

mod autograd_mlp;
mod figure;
#[cfg(feature = "cuda")]
mod gpu;
mod peers;
mod resnet34;
mod serve_load;
mod workloads;

use figure::Figure;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let markdown = args.iter().any(|a| a == "--markdown");
    let peers = args.iter().any(|a| a == "--peers");
    let rounds = match args.iter().find_map(|a| a.strip_prefix("--rounds=")) {
        None => 1,
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("--rounds=N needs a positive whole number, not `{n}`");
                std::process::exit(2);
            }
        },
    };
    let mut chosen: Vec<&str> =
        args.iter().map(String::as_str).filter(|a| !a.starts_with("--")).collect();
    if chosen.is_empty() {
        chosen = vec!["w1", "w2", "w3", "w4"];
    }
    let mut all_rounds: Vec<Vec<Figure>> = Vec::new();
    // A GPU workload that could not run or disagreed with the CPU (exit status 1).
    #[allow(unused_mut)]
    let mut failed = false;
    for _ in 0..rounds {
        let mut figures: Vec<Figure> = Vec::new();
        for w in &chosen {
            match *w {
                "w1" => workloads::w1_gemm(&mut figures),
                "w2" => workloads::w2_mlp_train(&mut figures),
                "w3" => workloads::w3_cnn_train(&mut figures),
                "w4" => workloads::w4_mlp_inference(&mut figures),
                "w5" => workloads::w5_char_lm_train(&mut figures),
                "w6" => workloads::w6_transformer_train(&mut figures),
                "w7" => workloads::w7_resnet_train(&mut figures),
                "w8" => autograd_mlp::w8_autograd_mlp_train(&mut figures),
                "w9" => {
                    figure::reset_peak_rss();
                    resnet34::w9_resnet34(&mut figures);
                    if let Some(mib) = figure::peak_rss_mib() {
                        figures.push(Figure::new("shapeflow", "w9", "peak-rss", "MiB", [mib]));
                    }
                }
                "ops" => autograd_mlp::op_bandwidth(&mut figures),
                "decode" => workloads::decode_latency(&mut figures),
                "serve" => serve_load::serve_load(&mut figures),
                #[cfg(feature = "cuda")]
                "gpu-gemm" | "gpu-w2" | "gpu-w3" | "gpu-w7" => {
                    if let Err(e) = gpu::run(w, &mut figures) {
                        eprintln!("error: {e}");
                        failed = true;
                    }
                }
                other => {
                    eprintln!(
                        "unknown workload `{other}` (known: w1, w2, w3, w4, w5, w6, w7, w8, w9, ops, decode, serve; gpu-gemm, gpu-w2, gpu-w3, gpu-w7 with --features cuda)"
                    );
                    std::process::exit(2);
                }
            }
        }
        if peers {
            figures.extend(peers::run(&chosen));
        }
        all_rounds.push(figures);
    }
    let mut figures = figure::combine(all_rounds);
    if let Some(rss) = figure::peak_rss_mib() {
        figures.push(Figure::new("shapeflow", "rss", "peak", "MiB", [rss]));
    }
    if json {
        figures.iter().for_each(|f| println!("{}", f.json()));
    } else if markdown {
        figure::print_markdown(&figures);
    } else {
        figure::print_table(&figures);
    }
    if failed {
        std::process::exit(1);
    }
}
