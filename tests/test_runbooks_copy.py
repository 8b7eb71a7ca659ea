"""The numpy copy of a local index (`knowledge.vectors`): a search reads it instead of starting
Chroma, answers exactly as Chroma would, and never answers from a copy Chroma has moved past.

Real Chroma, the real model; nothing is timed (bench/runbooks_search.py measures the CLI).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge import StoreLocation, index_runbooks, open_index, read_library
from knowledge.embedding import Embedder, gathered_first, load_embedder
from knowledge.provisioning import provision
from knowledge.runbooks import bundled_dir
from knowledge.store import open_store
from knowledge.vectors import FILE_NAME, read_copy, write_copy

SAMPLE = ("oomkilled-memory-limit.md", "image-pull-tag-not-found.md", "tls-unknown-authority.md",
          "pending-untolerated-taint.md", "service-selector-mismatch.md")
QUERIES = ("exit code 137", "x509: certificate signed by unknown authority",
           "my container keeps dying because it uses too much RAM", "pods are not scheduled",
           "helm release stuck in pending-upgrade", "KubeQuotaFullyUsed")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return provision()


@pytest.fixture(scope="module")
def embedder(model_dir: Path) -> Embedder:
    return load_embedder(model_dir)


@pytest.fixture
def runbooks_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "runbooks"
    directory.mkdir()
    for name in SAMPLE:
        shutil.copy(bundled_dir() / name, directory / name)
    return directory


def _answers(location: StoreLocation, runbooks_dir: Path, model_dir: Path) -> list[object]:
    library = read_library([runbooks_dir], bundled=False)
    with open_index(library, location, model_dir) as index:
        out: list[object] = []
        for query in QUERIES:
            result = index.search(query, k=5)
            out.append((result.mode, result.matched, result.match,
                        [(h.path, h.section, h.score, h.lexical, h.dense)
                         for h in result.nearest]))
            filtered = index.search("traffic", k=5, kinds=["svc"])
            out.append([h.path for h in filtered.nearest])
        return out


def test_the_copy_answers_as_chroma_does(tmp_path: Path, runbooks_dir: Path, model_dir: Path,
                                         embedder: Embedder) -> None:
    location = StoreLocation(tmp_path / "index")
    index_runbooks(read_library([runbooks_dir], bundled=False), location, model_dir,
                   embedder=embedder)
    assert read_copy(location) is not None
    from_copy = _answers(location, runbooks_dir, model_dir)
    (location.path / FILE_NAME).unlink()
    from_chroma = _answers(location, runbooks_dir, model_dir)
    assert from_copy == from_chroma


def test_a_copy_without_the_bm25_table_is_searched_all_the_same(
        tmp_path: Path, runbooks_dir: Path, model_dir: Path, embedder: Embedder) -> None:
    """A copy written before the table was kept (or with other tokens) is still read; its
    sections are tokenized again and the answers do not change."""
    import numpy as np

    location = StoreLocation(tmp_path / "index")
    index_runbooks(read_library([runbooks_dir], bundled=False), location, model_dir,
                   embedder=embedder)
    copy = read_copy(location)
    assert copy is not None and copy.postings is not None and copy.postings.vocab
    with_table = _answers(location, runbooks_dir, model_dir)
    path = location.path / FILE_NAME
    with np.load(path) as data:
        header = json.loads(data["header"].tobytes())
        vectors = data["vectors"]
    del header["lexical"]
    np.savez(path, vectors=vectors,
             header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    older = read_copy(location)
    assert older is not None and older.postings is None
    assert _answers(location, runbooks_dir, model_dir) == with_table


def test_a_copy_chroma_has_moved_past_is_not_read(tmp_path: Path, runbooks_dir: Path,
                                                  model_dir: Path, embedder: Embedder) -> None:
    location = StoreLocation(tmp_path / "index")
    library = read_library([runbooks_dir], bundled=False)
    index_runbooks(library, location, model_dir, embedder=embedder)
    copy = read_copy(location)
    assert copy is not None and len(copy.chunks) == copy.vectors.shape[0] > 0

    store = open_store(location)  # opening and reading Chroma writes to its database...
    assert store is not None
    store.chunks()
    store.close()
    assert read_copy(location) is not None  # ...but not to what the copy depends on

    (runbooks_dir / SAMPLE[0]).write_text("# Renamed\n\n## Symptoms\n\nsomething else\n")
    store = open_store(location)
    assert store is not None
    store.sync(read_library([runbooks_dir], bundled=False).runbooks, embedder)  # no new copy
    store.close()
    assert read_copy(location) is None

    store = open_store(location)
    assert store is not None
    write_copy(location, store)
    store.close()
    fresh = read_copy(location)
    assert fresh is not None and any(c.title == "Renamed" for c in fresh.chunks)

    (location.path / FILE_NAME).write_bytes(b"not a zip file")
    assert read_copy(location) is None
    with open_index(library, location, model_dir) as index:  # Chroma answers instead
        assert index.mode == "hybrid" and index.search("exit code 137").nearest


def test_vectors_agree_with_chromas_own_embedder(model_dir: Path, embedder: Embedder) -> None:
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    class Chromas(ONNXMiniLM_L6_V2):
        DOWNLOAD_PATH = model_dir
        EXTRACTED_FOLDER_NAME = "."

    texts = list(QUERIES) + [(bundled_dir() / SAMPLE[0]).read_text()]
    theirs = Chromas(preferred_providers=["CPUExecutionProvider"])(texts)
    for ours, reference in zip(embedder.embed(texts), theirs, strict=True):
        cosine = sum(a * float(b) for a, b in zip(ours, reference, strict=True))
        assert math.isclose(cosine, 1.0, abs_tol=1e-6)


def test_looking_up_int8_rows_before_dequantizing_moves_no_vector(
        model_dir: Path, embedder: Embedder) -> None:
    """The search's model reads only its tokens' rows of the int8 word table; what it computes
    is, bit for bit, what the model file as shipped computes (stored vectors stay valid)."""
    import onnxruntime as ort

    model = (model_dir / "model.onnx").read_bytes()
    assert gathered_first(model) != model  # the edit applies to the shipped model
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    shipped = ort.InferenceSession(str(model_dir / "model.onnx"), sess_options=options,
                                   providers=["CPUExecutionProvider"],
                                   disabled_optimizers=["ConstantFolding"])
    texts = [*QUERIES, (bundled_dir() / SAMPLE[0]).read_text()]
    ours = embedder._session  # the session `load_embedder` built, from the edited graph
    for text in texts:
        ids = [embedder._tokenizer.encode(text).ids]
        feed = {"input_ids": np.array(ids, dtype=np.int64),
                "attention_mask": np.ones((1, len(ids[0])), dtype=np.int64),
                "token_type_ids": np.zeros((1, len(ids[0])), dtype=np.int64)}
        assert ours.run(None, feed)[0].tobytes() == shipped.run(None, feed)[0].tobytes()


def test_searching_imports_neither_chroma_bm25s_pydantic_nor_the_kubernetes_client(
        tmp_path: Path, runbooks_dir: Path, model_dir: Path, embedder: Embedder) -> None:
    index_runbooks(read_library([runbooks_dir], bundled=False),
                   StoreLocation(tmp_path / "index"), model_dir, embedder=embedder)
    script = ("import json, sys\nfrom assistant.cli import run\n"
              "code = run(['runbooks', 'search', 'exit code 137', '--json'])\n"
              "print(json.dumps([code, sorted(m for m in ('chromadb', 'kubernetes', 'tools',"
              " 'bm25s', 'pydantic', 'asyncio') if m in sys.modules)]), file=sys.stderr)\n")
    env = {**os.environ, "SRE_KNOWLEDGE__INDEX_DIR": str(tmp_path / "index"),
           "SRE_KNOWLEDGE__BUNDLED": "false", "SRE_KNOWLEDGE__RUNBOOKS_DIRS": str(runbooks_dir),
           "SRE_KNOWLEDGE__MODEL_DIR": str(model_dir)}
    env.pop("SRE_KNOWLEDGE__CHROMA_HOST", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout)["mode"] == "hybrid"
    assert json.loads(done.stderr.strip().splitlines()[-1]) == [0, []]
