"""Write the training logs of `tests/engine/test_curves.py` by running tiny training loops
with the real libraries, so the logs are what those libraries print, not our idea of it.

Not run by the tests (they read the committed logs): it needs PyTorch, transformers,
Lightning and Keras, and takes about ten minutes, most of it the stalled run's wait.

    python -m venv /tmp/train && /tmp/train/bin/pip install torch==2.13.0 \\
        transformers accelerate lightning keras
    /tmp/train/bin/python tests/data/training/make_logs.py [NAME ...]
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
LOGGING = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def hf_trainer(name: str, *, learning_rate: float, steps: int, warmup_steps: int = 0) -> None:
    """Hugging Face Trainer on a one-layer GPT-2 learning to count (mod 64): its own log
    lines. A high peak learning rate, reached after a warm-up, makes it diverge."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    torch.manual_seed(0)
    hf_logging.set_verbosity_info()
    config = GPT2Config(
        n_layer=1,
        n_head=2,
        n_embd=32,
        vocab_size=64,
        n_positions=32,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    starts = torch.randint(0, 64, (256, 1))
    data = [{"input_ids": (start + torch.arange(32)) % 64, "labels": None} for start in starts]
    for row in data:
        row["labels"] = row["input_ids"]
    args = TrainingArguments(
        output_dir=f"/tmp/bifrost-train-{name}",
        per_device_train_batch_size=8,
        per_device_eval_batch_size=8,
        max_steps=steps,
        learning_rate=learning_rate,
        lr_scheduler_type="constant_with_warmup" if warmup_steps else "linear",
        warmup_steps=warmup_steps,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=20,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
    )
    Trainer(model=model, args=args, train_dataset=data, eval_dataset=data[:32]).train()


def lightning(name: str) -> None:
    """Lightning with its progress bar, written to a file as a job's log would hold it."""
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)

    class Regression(L.LightningModule):  # type: ignore[misc]  # Lightning is untyped here
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
            )

        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss, prog_bar=True)
            return loss

        def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y), prog_bar=True)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    x = torch.randn(512, 8)
    y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(512, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    trainer = L.Trainer(
        max_epochs=6,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        callbacks=[L.pytorch.callbacks.TQDMProgressBar(refresh_rate=4)],
    )
    trainer.fit(Regression(), loader, DataLoader(TensorDataset(x[:64], y[:64]), batch_size=32))


def keras(name: str) -> None:
    """Keras 3 (PyTorch backend), `fit(verbose=2)`: one line per epoch."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(512, 8)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=12, batch_size=32, validation_split=0.2, verbose=2)


def torch_loop(
    name: str,
    *,
    steps: int,
    lr: float = 0.05,
    keep_graphs: bool = False,
    slow_after: int | None = None,
    pause_at: int | None = None,
    pause_s: float = 0.0,
    schedule_steps: int | None = None,
) -> None:
    """A plain PyTorch loop that logs `step=… loss=… lr=… samples/s=… mem_mb=…` through
    `logging`, as many training scripts do; the keyword arguments make it go wrong for real."""
    import torch

    torch.manual_seed(0)
    log = logging.getLogger("train")
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=1.0, end_factor=0.0, total_iters=schedule_steps or steps
    )
    kept: list[torch.Tensor] = []
    for step in range(1, steps + 1):
        started = time.perf_counter()
        if slow_after is not None and step > slow_after:
            time.sleep(0.02)  # the input pipeline slowed down (a slow disk, a busy node)
        x = torch.randn(64, 64)
        y = x[:, :1] * 2 + 0.1 * torch.randn(64, 1)
        loss = torch.nn.functional.mse_loss(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if keep_graphs:
            kept.append(net(torch.randn(2048, 64)).sum())  # its graph stays alive: the leak
        if pause_at is not None and step == pause_at:
            time.sleep(pause_s)  # a hang: a collective waiting for a peer
        elapsed = time.perf_counter() - started
        rss_mb = int(Path("/proc/self/statm").read_text().split()[1]) * PAGE / 2**20
        log.info(
            "step=%d loss=%.4f lr=%.3e samples/s=%.1f mem_mb=%.1f",
            step,
            loss.item(),
            scheduler.get_last_lr()[0],
            64 / elapsed,
            rss_mb,
        )


RUNS: dict[str, Callable[[str], None]] = {
    "hf_trainer_healthy": lambda n: hf_trainer(n, learning_rate=0.05, steps=120),
    "hf_trainer_diverged": lambda n: hf_trainer(n, learning_rate=0.3, steps=120, warmup_steps=60),
    "lightning_healthy": lightning,
    "keras_healthy": keras,
    "torch_healthy": lambda n: torch_loop(n, steps=300),
    "torch_nan": lambda n: torch_loop(n, steps=150, lr=0.3),
    "torch_leak": lambda n: torch_loop(n, steps=200, keep_graphs=True),
    "torch_throughput": lambda n: torch_loop(n, steps=300, slow_after=180),
    "torch_lr_zero": lambda n: torch_loop(n, steps=300, schedule_steps=100),
    "torch_stall": lambda n: torch_loop(n, steps=200, pause_at=120, pause_s=330),
}


def main(names: list[str]) -> None:
    if names == ["--child"]:
        return
    for name in names or list(RUNS):
        started = time.monotonic()
        with open(HERE / f"{name}.log", "w") as out:
            subprocess.run(
                [sys.executable, __file__, "--run", name],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                env=os.environ | {"PYTHONUNBUFFERED": "1"},
            )
        print(f"{name}: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        logging.basicConfig(level=logging.INFO, format=LOGGING, stream=sys.stdout)
        RUNS[sys.argv[2]](sys.argv[2])
    else:
        main(sys.argv[1:])
