//! The data-parallel checks under `mpirun -np 2`: `dp-check` (built by `cargo test` with
//! this package; it loads the MPI library at run time) trains the MLP and the CNN on 2 ranks × 64 and compares with
//! one process × 128, by `fit` and by a hand-written loop, in f64 and f32; a rank with a NaN
//! loss, a rank that fails and a rank that hangs must each stop the run with a clear error
//! within a bounded time. Skipped with a printed reason when MPI is not installed, unless
//! `SHAPEFLOW_REQUIRE_MPI=1` (set by `.ci/run`), which makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn mpi_available() -> Result<(), String> {
    match Command::new("mpirun").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("mpirun not found (Debian: apt install openmpi-bin)".into()),
    }
}

struct Run {
    ok: bool,
    output: String,
    seconds: f64,
}

fn mpirun(bin: &Path, args: &[&str]) -> Run {
    mpirun_with(&[], bin, args)
}

/// [`mpirun`] with options for `mpirun` itself before the program.
fn mpirun_with(options: &[&str], bin: &Path, args: &[&str]) -> Run {
    let data = workspace().join("data/mnist");
    let start = Instant::now();
    let out = Command::new("mpirun")
        .args(["--oversubscribe", "-np", "2"])
        .args(options)
        .args(["timeout", "300"])
        .arg(bin)
        .args(args)
        .arg(&data)
        // mpirun refuses root without these (CI containers run as root).
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("mpirun starts");
    let output =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Run { ok: out.status.success(), output, seconds: start.elapsed().as_secs_f64() }
}

#[test]
fn data_parallel_under_mpirun() {
    if let Err(why) = mpi_available() {
        if std::env::var("SHAPEFLOW_REQUIRE_MPI").is_ok_and(|v| v == "1") {
            panic!("SHAPEFLOW_REQUIRE_MPI=1 but {why}");
        }
        shapeflow::skip_test(why);
        return;
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_dp-check"));
    for case in [
        "equivalence mlp fit f64",
        "equivalence mlp loop f32",
        "equivalence mlp fit f32",
        "equivalence cnn fit f64",
        "equivalence cnn loop f32",
    ] {
        let args: Vec<&str> = case.split(' ').collect();
        let r = mpirun(bin, &args);
        assert!(r.ok && r.output.contains("equivalent:"), "{case}:\n{}", r.output);
        let line = r.output.lines().find(|l| l.contains("equivalent:")).unwrap_or_default();
        println!("{case}: {line} ({:.1} s)", r.seconds);
    }

    // Every rank reports its own error: mpirun must not kill rank 0 when rank 1 exits first
    // (its default, which cut rank 0's message off at random). mpirun then exits 0, so the
    // failure shows as each rank's `error:` line.
    let r = mpirun_with(&["--mca", "orte_abort_on_non_zero_status", "0"], bin, &["nan"]);
    assert_eq!(r.output.matches("error: ").count(), 2, "both ranks fail:\n{}", r.output);
    assert!(
        r.output.contains("epoch 1, batch 1: rank 1: cross-entropy loss is NaN"),
        "{}",
        r.output
    );
    assert!(
        r.output.contains("epoch 1, batch 1: the loss is not finite on rank 1"),
        "{}",
        r.output
    );

    let r = mpirun(bin, &["fail", "1"]);
    assert!(
        !r.ok && r.output.contains("rank 1: simulated failure before training"),
        "{}",
        r.output
    );
    assert!(r.seconds < 60.0, "the other rank took {:.0} s to stop", r.seconds);

    // Ranks given different element types, models, batch sizes, datasets or seeds: the same
    // error on both, before any all-reduce (no crash inside MPI).
    for (kind, want) in [
        ("elem", "`element type` differs between ranks: f32 on rank 0, f64 on rank 1"),
        ("model", "`the model's tensors` differs between ranks"),
        ("batch", "`batch_size` differs between ranks: 64 on rank 0, 32 on rank 1"),
        ("data", "`training samples` differs between ranks: 512 on rank 0, 448 on rank 1"),
        ("seed", "`seed` differs between ranks: 11 on rank 0, 12 on rank 1"),
    ] {
        let r = mpirun(bin, &["mismatch", kind]);
        assert!(r.ok, "{kind}: {}", r.output);
        for rank in 0..2 {
            let line = format!("rank {rank} stopped: data-parallel training: {want}");
            assert!(r.output.contains(&line), "{kind}: rank {rank}:\n{}", r.output);
        }
        assert!(!r.output.contains("double free") && r.seconds < 60.0, "{kind}: {}", r.output);
    }

    // A rank that hangs: the other stops with the timeout's error after one timeout (3 s),
    // not one per collective, and exits without waiting for the hung rank again.
    let r = mpirun(bin, &["hang", "1"]);
    assert!(!r.ok, "{}", r.output);
    assert!(r.output.contains("no answer from the other ranks within 3 s"), "{}", r.output);
    println!("hang: the run ended {:.1} s after it started (timeout 3 s)", r.seconds);
    assert!(r.seconds < Duration::from_secs(20).as_secs_f64(), "took {:.0} s", r.seconds);
}

/// Without an MPI library the engine's start is an error that says what was tried (no MPI
/// needed to run this).
#[test]
fn a_missing_mpi_library_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_dp-check"))
        .args(["equivalence", "mlp", "fit", "f64"])
        .arg(workspace().join("data/mnist"))
        .env("SHAPEFLOW_MPI_LIBRARY", "/nonexistent/libmpi.so.40")
        .output()
        .expect("dp-check starts");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("no MPI library could be loaded; tried /nonexistent/libmpi.so.40 (")
            && text.contains("set SHAPEFLOW_MPI_LIBRARY"),
        "{text}"
    );
}
