"""PyTorch side of the initialiser study (bench/init.mjs): trains the same model as rnn-node on
one task file written by bench/init/datasets.mjs and prints one JSON line with the test accuracy.

  /usr/bin/python3 bench/init/torch_train.py --task TASK.json --cell lstm --seed 0 --epochs 5
      [--units 128] [--embedding 32] [--batch 128] [--lr 1e-3] [--threads 2]

Model: [Embedding(V, 32)] -> LSTM/GRU(128) -> state after each sequence's last valid step
(packed sequences, so padding is never computed) -> Linear -> cross-entropy, Adam. Every
weight keeps PyTorch's default initialisation: that is the point of the comparison.
"""
import argparse
import json
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--task", required=True)
p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
p.add_argument("--seed", type=int, default=0)
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--units", type=int, default=128)
p.add_argument("--embedding", type=int, default=32)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
with open(a.task) as f:
    task = json.load(f)
tokens = task["kind"] == "tokens"
classes = len(task["classes"])


def tensors(part):
    xs = part["x"]
    lengths = torch.tensor([len(s) for s in xs])
    steps = int(lengths.max())
    if tokens:
        x = torch.zeros(len(xs), steps, dtype=torch.long)
        for i, s in enumerate(xs):
            x[i, : len(s)] = torch.tensor(s)
    else:
        x = torch.zeros(len(xs), steps, task["features"])
        for i, s in enumerate(xs):
            x[i, : len(s)] = torch.tensor(s)
    return x, lengths, torch.tensor(part["y"])


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(task["vocabSize"], a.embedding, padding_idx=0) if tokens else None
        width = a.embedding if tokens else task["features"]
        self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[a.cell](width, a.units, batch_first=True)
        self.head = torch.nn.Linear(a.units, classes)

    def forward(self, x, lengths):
        if self.embedding is not None:
            x = self.embedding(x)
        # Packing only matters when lengths differ; equal-length batches (images, series) run
        # as they are, the same computation without packing's per-step overhead.
        if bool((lengths == x.shape[1]).all()):
            _, h = self.rnn(x)
        else:
            _, h = self.rnn(torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        h = h[0] if isinstance(h, tuple) else h
        return self.head(h[-1])


train_x, train_len, train_y = tensors(task["train"])
test_x, test_len, test_y = tensors(task["test"])
model = Model()
optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
loss_fn = torch.nn.CrossEntropyLoss()
started = time.time()
n = len(train_y)
for epoch in range(a.epochs):
    model.train()
    order = torch.randperm(n)
    for start in range(0, n, a.batch):
        idx = order[start : start + a.batch]
        steps = int(train_len[idx].max())
        optimizer.zero_grad()
        loss = loss_fn(model(train_x[idx, :steps], train_len[idx]), train_y[idx])
        loss.backward()
        optimizer.step()
seconds = time.time() - started
model.eval()
correct = 0
with torch.no_grad():
    for start in range(0, len(test_y), 1024):
        sl = slice(start, start + 1024)
        steps = int(test_len[sl].max())
        correct += int((model(test_x[sl, :steps], test_len[sl]).argmax(1) == test_y[sl]).sum())
print(json.dumps({"accuracy": correct / len(test_y), "seconds": seconds, "torch": torch.__version__}))
