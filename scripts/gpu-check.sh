#!/usr/bin/env bash
# Builds the CUDA test and bench binaries here (no CUDA needed), then, on a machine with an
# NVIDIA GPU, the driver and the CUDA 13 toolkit (but no Rust and no network), runs them.
#
#   scripts/gpu-check.sh build        # here: writes gpu-check/ (stripped release binaries + runner)
#   gpu-check/run.sh                  # there: runs the CUDA suite and the GPU benches
#
# Carry the gpu-check/ folder (and data/ for the examples) to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-build}" in
build)
  out=gpu-check
  rm -rf "$out" && mkdir -p "$out"
  export CARGO_PROFILE_RELEASE_STRIP=true
  # Test binaries: the CUDA-vs-CPU suite and the kernel-compile test.
  for t in cuda; do
    bin=$(cargo test --release --features cuda --test "$t" --no-run --message-format=json 2>/dev/null |
      python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$t" | tail -1)
    cp "$bin" "$out/test-$t"
  done
  bin=$(cargo test --release -p shapeflow-cuda --test nvrtc --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])' | tail -1)
  cp "$bin" "$out/test-nvrtc"
  cargo build --release -p shapeflow-bench --features cuda
  cp target/release/shapeflow-bench "$out/"
  cp bench/peers.py "$out/"
  cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the CUDA suite and the GPU benches; prints the device, driver and libraries first.
set -uo pipefail
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
# Searched in the order listed (the first directory wins), ahead of what was already set.
dirs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu; do
  [ -d "$d" ] && dirs="${dirs:+$dirs:}$d"
done
export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
for lib in libcuda.so.1 libnvrtc.so.13 libcublas.so.13; do
  found=""
  for d in ${LD_LIBRARY_PATH//:/ }; do
    [ -e "$d/$lib" ] && { found="$(readlink -f "$d/$lib")"; break; }
  done
  echo "$lib -> ${found:-not on LD_LIBRARY_PATH: the system default paths apply}"
done
ldconfig -p | grep -E 'libnvrtc|libcublas|libcuda\.' || true
status=0
for t in ./test-nvrtc ./test-cuda; do
  echo "== $t"
  SHAPEFLOW_REQUIRE_NVRTC=1 SHAPEFLOW_REQUIRE_CUDA=1 "$t" --nocapture --test-threads=1 || status=1
done
echo "== bench"
./shapeflow-bench gpu-gemm gpu-w2 gpu-w3 gpu-w7 --peers || status=1
exit $status
RUN
  chmod +x "$out/run.sh"
  du -sh "$out"
  echo "built $out/: carry it to the GPU machine and run $out/run.sh"
  ;;
*)
  echo "usage: scripts/gpu-check.sh build" >&2
  exit 2
  ;;
esac
