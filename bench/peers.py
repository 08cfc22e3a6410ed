"""Peer measurements for `shapeflow-bench --peers`: W1-W4 and W7 in PyTorch and JAX (CPU).

Prints one JSON object per line per figure. Each framework is skipped, with a message on
stderr, when it cannot be imported. Threads: each framework's default (all cores), like
shapeflow.
"""
import json
import statistics
import sys
import time


def measure(fn, warmup, reps, value):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(value(time.perf_counter() - t))
    return statistics.median(out), min(out), max(out)


def emit(impl, workload, param, unit, stats):
    med, lo, hi = stats
    print(json.dumps({"impl": impl, "workload": workload, "param": param, "unit": unit,
                      "median": med, "min": lo, "max": hi}), flush=True)


def w7_resnet(torch):
    """W7's network: a bias-free 3x3 stem of 32 channels, batch norm, ReLU; three residual
    blocks, max-pool 2 after the first two; global average pooling; linear 32 -> 10."""
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32))

        def forward(self, x):
            return F.relu(self.body(x) + x)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        Block(), nn.MaxPool2d(2), Block(), nn.MaxPool2d(2), Block(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def reset_peak_rss():
    """Starts a new peak resident size (Linux), as the bench does before W9."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def w9_resnet34(torch):
    """torchvision's resnet34(), written out (no torchvision needed): BasicBlocks in stages of
    3, 4, 6 and 3, 1x1 projection shortcuts where a block changes size, 1000 classes."""
    nn, F = torch.nn, torch.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + identity)
    layers, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                   nn.MaxPool2d(3, 2, 1)], 64
    for k, (n, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b in range(n):
            layers.append(BasicBlock(cin, width, 2 if (k > 0 and b == 0) else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def pytorch(workloads):
    try:
        import torch
    except ImportError as e:
        print(f"peers: PyTorch skipped ({e})", file=sys.stderr)
        return
    impl = f"pytorch-{torch.__version__.split('+')[0]}"
    nn, F = torch.nn, torch.nn.functional
    if "w1" in workloads:
        for n in (512, 1024, 2048):
            a, b = torch.rand(n, n), torch.rand(n, n)
            emit(impl, "w1", f"n{n}", "GFLOP/s",
                 measure(lambda: torch.mm(a, b), 3, 7 if n >= 2048 else 15, lambda s: 2 * n**3 / s / 1e9))

    def mlp():
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                             nn.Linear(256, 10))

    def train(model, x, y):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return step

    if "w2" in workloads:
        x, y = torch.rand(128, 784), torch.arange(128) % 10
        emit(impl, "w2", "b128", "samples/s", measure(train(mlp(), x, y), 20, 200, lambda s: 128 / s))
    if "w8" in workloads:
        # W2's MLP as free code (weights stored [in, out]), eager autograd, Adam
        x, y = torch.rand(128, 784), torch.arange(128) % 10
        params = []
        for n_in, n_out in ((784, 512), (512, 256), (256, 10)):
            a = n_in ** -0.5
            params += [(torch.rand(n_in, n_out) * 2 - 1).mul_(a).requires_grad_(),
                       (torch.rand(n_out) * 2 - 1).mul_(a).requires_grad_()]
        opt8 = torch.optim.Adam(params, lr=1e-3)
        w1, b1, w2, b2, w3, b3 = params

        def step8():
            opt8.zero_grad(set_to_none=True)
            h1 = (x @ w1 + b1).relu()
            h2 = (h1 @ w2 + b2).relu()
            logits = h2 @ w3 + b3
            loss = -logits.log_softmax(1).gather(1, y[:, None]).mean()
            loss.backward()
            opt8.step()
        emit(impl, "w8", "b128", "samples/s", measure(step8, 20, 200, lambda s: 128 / s))
    if "w3" in workloads:
        cnn = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10))
        x, y = torch.rand(64, 1, 28, 28), torch.arange(64) % 10
        emit(impl, "w3", "b64", "samples/s", measure(train(cnn, x, y), 20, 200, lambda s: 64 / s))
    if "w7" in workloads:
        resnet = w7_resnet(torch)
        x, y = torch.rand(64, 1, 28, 28), torch.arange(64) % 10
        emit(impl, "w7", "b64", "samples/s", measure(train(resnet, x, y), 4, 40, lambda s: 64 / s))
    if "w9" in workloads:
        reset_peak_rss()
        resnet = w9_resnet34(torch)
        x, y = torch.rand(8, 3, 224, 224), torch.arange(8) * 127 % 1000
        opt9 = torch.optim.SGD(resnet.parameters(), lr=0.01, momentum=0.9)

        def step9():
            opt9.zero_grad(set_to_none=True)
            F.cross_entropy(resnet(x), y).backward()
            opt9.step()
        emit(impl, "w9", "b8-train", "samples/s", measure(step9, 1, 5, lambda s: 8 / s))
        resnet.eval()
        one = torch.rand(1, 3, 224, 224)
        with torch.no_grad():
            emit(impl, "w9", "b1-infer", "ms", measure(lambda: resnet(one), 2, 10, lambda s: s * 1e3))
        peak = peak_rss_mib()
        if peak is not None:
            emit(impl, "w9", "peak-rss", "MiB", (peak, peak, peak))
    if "w5" in workloads:
        class CharLm(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(96, 256)
                self.lstm = nn.LSTM(256, 256, num_layers=2, batch_first=True)
                self.head = nn.Linear(256, 96)

            def forward(self, x):
                return self.head(self.lstm(self.emb(x))[0])
        lm = CharLm()
        opt = torch.optim.Adam(lm.parameters(), lr=1e-3)
        x = torch.randint(0, 96, (32, 128))
        y = torch.randint(0, 96, (32, 128))

        def lm_step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(lm(x).reshape(-1, 96), y.reshape(-1)).backward()
            opt.step()
        flops = 3 * (2 * 2 * 32 * 128 * 1024 * 512 + 2 * 32 * 128 * 256 * 96)
        stats = measure(lm_step, 2, 10, lambda s: s)
        emit(impl, "w5", "b32", "sequences/s", tuple(32 / v for v in (stats[0], stats[2], stats[1])))
        emit(impl, "w5", "b32", "GFLOP/s", tuple(flops / v / 1e9 for v in (stats[0], stats[2], stats[1])))
    if "w6" in workloads:
        layer = nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.0,
                                           activation="gelu", batch_first=True)

        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
                self.head = nn.Linear(256, 10)

            def forward(self, x):
                return self.head(self.enc(x).mean(1))
        enc = Encoder()
        opt6 = torch.optim.Adam(enc.parameters(), lr=1e-3)
        x6, y6 = torch.randn(16, 128, 256), torch.arange(16) % 10

        def enc_step():
            opt6.zero_grad(set_to_none=True)
            F.cross_entropy(enc(x6), y6).backward()
            opt6.step()
        rows = 16 * 128
        flops6 = 3 * 2 * (2 * rows * 256 * 1024 + 2 * 2 * rows * 128 * 256 + 2 * 2 * rows * 256 * 1024)
        stats = measure(enc_step, 2, 10, lambda s: s)
        emit(impl, "w6", "b16", "sequences/s", tuple(16 / v for v in (stats[0], stats[2], stats[1])))
        emit(impl, "w6", "b16", "GFLOP/s", tuple(flops6 / v / 1e9 for v in (stats[0], stats[2], stats[1])))
    if "decode" in workloads:
        # char-lm's transformer: embedding 96 -> 128, learned positions, 2 pre-norm causal
        # blocks (4 heads, GELU feed-forward 512), final norm, head to 96. nn.Transformer*
        # has no key/value cache: every character recomputes the prefix.
        block = nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)

        class CharTransformer(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb, self.pos = nn.Embedding(96, 128), nn.Embedding(128, 128)
                self.enc = nn.TransformerEncoder(block, 2, enable_nested_tensor=False)
                self.norm, self.head = nn.LayerNorm(128), nn.Linear(128, 96)

            def forward(self, ids):
                t = ids.shape[1]
                h = self.emb(ids) + self.pos(torch.arange(t))[None]
                mask = nn.Transformer.generate_square_subsequent_mask(t)
                return self.head(self.norm(self.enc(h, mask=mask, is_causal=True)))
        lm = CharTransformer().eval()
        ids = (torch.arange(128) * 37 + 11) % 96

        def decode():
            for t in range(16, 128):
                lm(ids[None, :t + 1])[:, -1]
        with torch.inference_mode():
            stats = measure(decode, 1, 5, lambda s: s * 1e6 / 112)
        # PyTorch's per-character latency is its only way, recomputing: the same figure twice.
        emit(impl, "decode", "per-char", "us", stats)
        emit(impl, "decode", "recompute", "us", stats)
    if "w4" in workloads:
        model = mlp().eval()
        one, big = torch.rand(1, 784), torch.rand(1024, 784)
        with torch.inference_mode():
            emit(impl, "w4", "b1", "us", measure(lambda: model(one), 200, 2000, lambda s: s * 1e6))
            emit(impl, "w4", "b1024", "samples/s", measure(lambda: model(big), 5, 50, lambda s: 1024 / s))


def pytorch_cuda(workloads):
    gpu = [w for w in workloads if w.startswith("gpu-")]
    if not gpu:
        return
    try:
        import torch
    except ImportError as e:
        print(f"peers: PyTorch CUDA skipped ({e})", file=sys.stderr)
        return
    if not torch.cuda.is_available():
        print("peers: PyTorch CUDA skipped (no GPU)", file=sys.stderr)
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    impl = f"pytorch-{torch.__version__.split('+')[0]}-cuda"
    nn, F = torch.nn, torch.nn.functional
    dev = torch.device("cuda")

    def timed(fn, warmup, reps, value):
        def run():
            fn()
            torch.cuda.synchronize()
        return measure(run, warmup, reps, value)

    if "gpu-gemm" in gpu:
        n = 4096
        a, b = torch.rand(n, n, device=dev), torch.rand(n, n, device=dev)
        emit(impl, "gpu-gemm", f"n{n}", "GFLOP/s", timed(lambda: torch.mm(a, b), 3, 20, lambda s: 2 * n**3 / s / 1e9))

    def train(model, x, y):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return step

    if "gpu-w2" in gpu:
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                              nn.Linear(256, 10)).to(dev)
        x, y = torch.rand(128, 784, device=dev), (torch.arange(128) % 10).to(dev)
        emit(impl, "gpu-w2", "b128", "samples/s", timed(train(model, x, y), 20, 200, lambda s: 128 / s))
    if "gpu-w3" in gpu:
        model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10)).to(dev)
        x, y = torch.rand(64, 1, 28, 28, device=dev), (torch.arange(64) % 10).to(dev)
        emit(impl, "gpu-w3", "b64", "samples/s", timed(train(model, x, y), 20, 200, lambda s: 64 / s))
    if "gpu-w7" in gpu:
        model = w7_resnet(torch).to(dev)
        x, y = torch.rand(64, 1, 28, 28, device=dev), (torch.arange(64) % 10).to(dev)
        emit(impl, "gpu-w7", "b64", "samples/s", timed(train(model, x, y), 20, 200, lambda s: 64 / s))


def jax_peer(workloads):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        print(f"peers: JAX skipped ({e})", file=sys.stderr)
        return
    impl = f"jax-{jax.__version__}"
    if "w1" in workloads:
        mm = jax.jit(jnp.matmul)
        for n in (512, 1024, 2048):
            a = jnp.ones((n, n), jnp.float32)
            emit(impl, "w1", f"n{n}", "GFLOP/s",
                 measure(lambda: mm(a, a).block_until_ready(), 3, 7 if n >= 2048 else 15,
                         lambda s: 2 * n**3 / s / 1e9))
    if "w4" in workloads or "w2" in workloads:
        key = jax.random.PRNGKey(0)
        sizes = [(784, 512), (512, 256), (256, 10)]
        params = [(jax.random.normal(key, s) * 0.05, jnp.zeros(s[1])) for s in sizes]

        def forward(params, x):
            for i, (w, b) in enumerate(params):
                x = x @ w + b
                if i < len(params) - 1:
                    x = jax.nn.relu(x)
            return x

        if "w4" in workloads:
            f = jax.jit(forward)
            one, big = jnp.ones((1, 784)), jnp.ones((1024, 784))
            emit(impl, "w4", "b1", "us", measure(lambda: f(params, one).block_until_ready(), 200, 2000,
                                                 lambda s: s * 1e6))
            emit(impl, "w4", "b1024", "samples/s", measure(lambda: f(params, big).block_until_ready(), 5, 50,
                                                           lambda s: 1024 / s))
        if "w2" in workloads:
            def loss(params, x, y):
                logp = jax.nn.log_softmax(forward(params, x))
                return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

            lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8

            @jax.jit
            def step(params, m, v, t, x, y):
                g = jax.grad(loss)(params, x, y)
                m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
                v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
                mhat = jax.tree_util.tree_map(lambda m: m / (1 - b1 ** t), m)
                vhat = jax.tree_util.tree_map(lambda v: v / (1 - b2 ** t), v)
                params = jax.tree_util.tree_map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps),
                                                params, mhat, vhat)
                return params, m, v

            state = {"p": params, "m": jax.tree_util.tree_map(jnp.zeros_like, params),
                     "v": jax.tree_util.tree_map(jnp.zeros_like, params), "t": 0}
            x, y = jnp.ones((128, 784)), jnp.arange(128) % 10

            def run():
                state["t"] += 1
                state["p"], state["m"], state["v"] = step(state["p"], state["m"], state["v"],
                                                          state["t"], x, y)
                jax.block_until_ready(state["p"])

            emit(impl, "w2", "b128", "samples/s", measure(run, 20, 200, lambda s: 128 / s))


def main():
    workloads = sys.argv[1:] or ["w1", "w2", "w3", "w4"]
    pytorch(workloads)
    pytorch_cuda(workloads)
    jax_peer(workloads)


if __name__ == "__main__":
    main()
