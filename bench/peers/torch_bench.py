"""PyTorch peer for bench/run.mjs: one measurement, printed as one JSON line.

  /usr/bin/python3 bench/peers/torch_bench.py --cell lstm --units 128 --steps 28 --features 28
      --classes 10 --batch 128 --infer-batch 1024 --threads 2 --seconds 3 --mode train|infer|latency|gemm

--mode gemm measures the machine's single-precision GEMM peak instead (torch.mm, its BLAS,
2048 x 2048 x 2048): the reference the grid's achieved GFLOP/s are compared with.

Same model as rnn-node's: recurrent layer -> last state -> Linear -> cross-entropy, Adam.
"""
import argparse
import json
import resource
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--cell", default="lstm")
p.add_argument("--units", type=int, default=128)
p.add_argument("--steps", type=int, default=28)
p.add_argument("--features", type=int, default=28)
p.add_argument("--classes", type=int, default=10)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--infer-batch", type=int, default=1024)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seconds", type=float, default=3.0)
p.add_argument("--mode", default="train")
p.add_argument("--vocab", type=int, default=0)
p.add_argument("--min-length", type=int, default=0)
p.add_argument("--padded", action="store_true", help="token task: run padded batches instead of packed sequences")
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
rnn_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[a.cell]


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(a.vocab, a.features, padding_idx=0) if a.vocab else None
        self.rnn = rnn_class(a.features, a.units, batch_first=True)
        self.head = torch.nn.Linear(a.units, a.classes)

    def forward(self, x, lengths=None):
        if self.embedding is not None:
            x = self.embedding(x)
        if lengths is not None and not a.padded:
            x = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h
        return self.head(h[-1])


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def batch(n):
    if a.vocab:
        lengths = torch.randint(a.min_length or 1, a.steps + 1, (n,))
        x = torch.randint(1, a.vocab, (n, a.steps))
        mask = torch.arange(a.steps)[None, :] < lengths[:, None]
        return x * mask, lengths, torch.randint(0, a.classes, (n,))
    return torch.rand(n, a.steps, a.features), None, torch.randint(0, a.classes, (n,))


def rate(step, seconds):
    step()
    calls, start = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


if a.mode == "gemm":
    m1, m2 = torch.rand(2048, 2048), torch.rand(2048, 2048)
    value = rate(lambda: torch.mm(m1, m2), a.seconds) * 2.0 * 2048**3 / 1e9
elif a.mode == "train":
    x, lengths, y = batch(a.batch)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x, lengths), y)
        loss.backward()
        opt.step()

    value = rate(step, a.seconds) * a.batch
elif a.mode == "infer":
    x, lengths, _ = batch(a.infer_batch)
    with torch.no_grad():
        value = rate(lambda: model(x, lengths), a.seconds) * a.infer_batch
else:
    x, lengths, _ = batch(1)
    with torch.no_grad():
        value = 1000.0 / rate(lambda: model(x, lengths), a.seconds)
def blas_kernel():
    """Which BLAS library and kernel this process runs on (OpenBLAS names its core)."""
    import ctypes
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and ".so" in line})
    for lib in libs:
        try:
            handle = ctypes.CDLL(lib)
            if hasattr(handle, "openblas_get_corename"):
                handle.openblas_get_corename.restype = ctypes.c_char_p
                handle.openblas_get_config.restype = ctypes.c_char_p
                return f"{handle.openblas_get_config().decode()} (core {handle.openblas_get_corename().decode()})"
        except OSError:
            continue
    return ", ".join(libs) or "BLAS unknown"


# Peak resident set of this process (Linux reports kilobytes).
max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peer": "pytorch-padded" if a.padded else "pytorch", "torch": torch.__version__, "mode": a.mode, "value": value, "threads": a.threads, "maxRssMB": max_rss_mb, "detail": blas_kernel()}))
