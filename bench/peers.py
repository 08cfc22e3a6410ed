"""Peer measurements for `shapeflow-bench --peers`: the same workloads in PyTorch (CPU).

Prints one JSON object per line per figure. Skips (with a message on stderr) when PyTorch
cannot be imported. Threads: torch uses its default (all cores), like shapeflow.
"""
import json
import statistics
import sys
import time


def measure(fn, warmup, reps, rate):
    for _ in range(warmup):
        fn()
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        rates.append(rate(time.perf_counter() - t))
    return statistics.median(rates), min(rates), max(rates)


def emit(impl, workload, param, unit, stats):
    med, lo, hi = stats
    print(json.dumps({"impl": impl, "workload": workload, "param": param, "unit": unit,
                      "median": med, "min": lo, "max": hi}), flush=True)


def main():
    workloads = sys.argv[1:] or ["matmul", "mlp", "cnn"]
    try:
        import torch
    except ImportError as e:
        print(f"peers: PyTorch skipped ({e})", file=sys.stderr)
        return
    impl = f"pytorch-{torch.__version__.split('+')[0]}"
    if "matmul" in workloads:
        n = 1024
        a, b = torch.rand(n, n), torch.rand(n, n)
        emit(impl, "matmul", f"n{n}", "GFLOP/s",
             measure(lambda: torch.mm(a, b), 3, 15, lambda s: 2 * n**3 / s / 1e9))
    if "mlp" in workloads:
        batch = 128
        model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                    torch.nn.Linear(512, 256), torch.nn.ReLU(),
                                    torch.nn.Linear(256, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.rand(batch, 784)
        y = torch.arange(batch) % 10

        def step():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        emit(impl, "mlp-train", f"b{batch}", "samples/s",
             measure(step, 20, 200, lambda s: batch / s))

    if "cnn" in workloads:
        batch = 64
        nn = torch.nn
        model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(400, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.rand(batch, 1, 28, 28)
        y = torch.arange(batch) % 10

        def cnn_step():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        emit(impl, "cnn-train", f"b{batch}", "samples/s",
             measure(cnn_step, 20, 200, lambda s: batch / s))


if __name__ == "__main__":
    main()
