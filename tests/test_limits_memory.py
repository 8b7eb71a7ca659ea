"""Errors and limits (issue 15), in memory and time: an API server that answers without end,
too much or too slowly, a snapshot file of hundreds of MB, a kubeconfig of nested YAML aliases
cost bounded memory and time, and end in one line and the exit code the README gives.

Each API server is a real one on 127.0.0.1 (a raw socket, so it can send what no HTTP library
would); `sre` runs as a subprocess under a parent that reports its peak memory.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tools
from tools import log_ends
from tools.openmetrics import read_openmetrics

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
PEAK = (  # runs argv; prints its exit code and its peak RSS in MiB (Linux: ru_maxrss in KiB)
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
    "print(f'{done.returncode} {peak}')\n"
)


def measured(argv: list[str], env: dict[str, str],
             timeout: float = 60) -> tuple[int, int, str]:
    """(exit code, peak RSS in MiB, stderr) of `python -m assistant *argv`."""
    done = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "assistant", *argv],
                          capture_output=True, text=True, timeout=timeout,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env})
    fields = done.stdout.splitlines()[-1].split()  # after whatever `sre` printed
    assert len(fields) == 2, done.stderr[-2000:]
    return int(fields[0]), int(fields[1]), done.stderr


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith("sre: ") and stderr.count("\n") == 1, stderr[-2000:]
    return stderr


# --- garbage API servers ------------------------------------------------------------------------

Answer = Callable[[socket.socket, threading.Event], None]


def _head(extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra + b"\r\n"


def gzip_bomb(client: socket.socket, stop: threading.Event) -> None:
    """512 KiB of gzip members, each 1 MiB of spaces: 512 MiB once inflated."""
    member = gzip.compress(b" " * MIB)
    body = member * 512
    client.sendall(_head(b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(body)))
    client.sendall(body)


def endless(client: socket.socket, stop: threading.Event) -> None:
    """A chunked body that never ends, at the pace the reader takes it."""
    client.sendall(_head(b"Transfer-Encoding: chunked\r\n"))
    chunk = b"%x\r\n%s\r\n" % (MIB, b" " * MIB)
    while not stop.is_set():
        client.sendall(chunk)


def declared_huge(client: socket.socket, stop: threading.Event) -> None:
    """A (valid) list of 100 MiB, its length declared."""
    head, tail = b'{"kind":"NamespaceList","items":[', b"]}"
    item = b'{"metadata":{"name":"n"}},'
    count = 100 * MIB // len(item)
    client.sendall(_head(b"Content-Length: %d\r\n" % (len(head) + count * len(item) - 1
                                                      + len(tail))))
    client.sendall(head)
    block = item * 10_000
    for _ in range(count // 10_000):
        client.sendall(block)
    client.sendall(item * (count % 10_000 - 1) + item[:-1] + tail)


def empty_objects(client: socket.socket, stop: threading.Event) -> None:
    """A list of 40 MiB of `{}`: under the byte limit, 1 GB once parsed."""
    body = b'{"kind":"NamespaceList","items":[' + b"{}," * (40 * MIB // 3) + b"{}]}"
    client.sendall(_head(b"Content-Length: %d\r\n" % len(body)) + body)


def trickle_body(client: socket.socket, stop: threading.Event) -> None:
    """Headers at once, then a chunked body of one byte every 0.3 s, for ever."""
    client.sendall(_head(b"Transfer-Encoding: chunked\r\n"))
    while not stop.wait(0.3):
        client.sendall(b"1\r\n \r\n")


def trickle_headers(client: socket.socket, stop: threading.Event) -> None:
    """The status line, then a header one byte every 0.3 s, for ever."""
    client.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not stop.wait(0.3):
        client.sendall(b"a")


@pytest.fixture
def garbage() -> Iterator[Callable[[Answer], int]]:
    """`garbage(answer)`: the port of a loopback server that reads each request's head and
    answers with `answer(socket, stop)`."""
    stop = threading.Event()
    listeners: list[socket.socket] = []

    def serve(answer: Answer) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def handle(client: socket.socket) -> None:
            with client:
                head = b""
                while b"\r\n\r\n" not in head and (data := client.recv(65536)):
                    head += data
                try:
                    answer(client, stop)
                except OSError:
                    pass  # the reader hung up: what it did then is what the test checks

        def accept() -> None:
            while not stop.is_set():
                try:
                    client, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=handle, args=(client,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return int(listener.getsockname()[1])

    yield serve
    stop.set()
    for listener in listeners:
        listener.close()


def kubeconfig(path: Path, port: int) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return path


@pytest.mark.parametrize("answer", [gzip_bomb, endless, declared_huge],
                         ids=["gzip-bomb", "endless-chunked", "declared-100-mib"])
def test_an_answer_past_64_mib_is_refused_in_bounded_memory(
        answer: Answer, garbage: Callable[[Answer], int], tmp_path: Path) -> None:
    port = garbage(answer)
    code, peak, stderr = measured(
        ["diagnose", "-n", "shop", "--kubeconfig", str(kubeconfig(tmp_path / "kc", port))],
        {"HOME": str(tmp_path)})
    assert code == 3, stderr
    line = one_line(stderr)
    assert f"the API server at http://127.0.0.1:{port} sent more than 64 MiB for " \
           "/api/v1/namespaces" in line
    assert peak < 300, f"peak RSS {peak} MiB"


def test_an_answer_of_millions_of_tiny_objects_is_refused_in_bounded_memory(
        garbage: Callable[[Answer], int], tmp_path: Path) -> None:
    port = garbage(empty_objects)
    code, peak, stderr = measured(
        ["diagnose", "-n", "shop", "--kubeconfig", str(kubeconfig(tmp_path / "kc", port))],
        {"HOME": str(tmp_path)})
    assert code == 3, stderr
    assert f"the answer of the API server at http://127.0.0.1:{port} for /api/v1/namespaces " \
           "holds more than 4,194,304 JSON values" in one_line(stderr)
    assert peak < 300, f"peak RSS {peak} MiB"


@pytest.mark.parametrize("answer", [trickle_body, trickle_headers],
                         ids=["body", "headers"])
def test_a_trickling_answer_is_cut_at_the_request_timeout(
        answer: Answer, garbage: Callable[[Answer], int], tmp_path: Path) -> None:
    port = garbage(answer)
    code, _, stderr = measured(
        ["diagnose", "-n", "shop", "--kubeconfig", str(kubeconfig(tmp_path / "kc", port))],
        {"HOME": str(tmp_path), "SRE_CLUSTER__READ_TIMEOUT": "1",
         "SRE_CLUSTER__REQUEST_TIMEOUT": "3"}, timeout=30)  # the server trickles for ever
    assert code == 3, stderr
    line = one_line(stderr)
    assert f"the API server at http://127.0.0.1:{port} did not finish answering " \
           "/api/v1/namespaces within 3 s" in line


# --- snapshot files -------------------------------------------------------------------------------

def sparse(path: Path, start: bytes, size: int = 300 * 1000 * 1000) -> Path:
    """`path`, `size` bytes long: `start`, then a hole (made at once, read as NUL bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(start)
        handle.truncate(size)
    return path


@pytest.mark.parametrize("name", ["shop/pods.json", "nodes.json"])
def test_a_snapshot_file_past_64_mib_is_bad_input_naming_it(name: str, tmp_path: Path) -> None:
    root = tmp_path / "snap"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "pods.json").write_text('{"kind": "PodList", "items": []}')
    huge = sparse(root / name, b'{"kind": "List", "items": []')
    code, peak, stderr = measured(["diagnose", "-n", "shop", "--snapshot", str(root)],
                                  {"HOME": str(tmp_path)})
    assert code == 2, stderr
    assert f"{huge}: larger than 64 MiB" in one_line(stderr)
    assert peak < 250, f"peak RSS {peak} MiB"


@pytest.mark.parametrize("item", ["{}", '{"metadata":{"name":"e"}}'], ids=["empty", "tiny"])
def test_a_list_of_60_mib_of_tiny_objects_is_bad_input_in_bounded_memory(
        item: str, tmp_path: Path) -> None:
    """Under 64 MiB, but 20 million `{}` took 1.6 GB once parsed: refused before it is."""
    root = tmp_path / "snap"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "pods.json").write_text('{"kind": "PodList", "items": []}')
    events = root / "shop" / "events.json"
    with events.open("w") as handle:
        handle.write('{"items":[' + item)
        handle.write(("," + item) * (60 * MIB // (len(item) + 1)))
        handle.write("]}")
    code, peak, stderr = measured(["diagnose", "-n", "shop", "--snapshot", str(root)],
                                  {"HOME": str(tmp_path)})
    assert code == 2, stderr
    assert f"{events}: holds more than 4,194,304 JSON values" in one_line(stderr)
    assert peak < 300, f"peak RSS {peak} MiB"


FRAME = "==== {} logs for container app of pod shop/chatty ====\n"


@pytest.mark.parametrize("middle", ["hole", "newlines"])
def test_a_huge_log_file_is_read_from_both_ends_saying_what_was_not(
        middle: str, tmp_path: Path) -> None:
    """A 20 GB log (a hole read as NUL bytes) or 200 MB of empty lines ran past any patience:
    its first and last lines come in a moment, after a line saying how much was not read."""
    root = tmp_path / "snap"
    log = root / "shop" / "chatty" / "logs.txt"
    start = (FRAME.format("START") + "INFO starting\n").encode()
    if middle == "hole":
        sparse(log, start, 20 * 1024 * MIB)
    else:
        sparse(log, start, len(start))
        with log.open("ab") as handle:
            for _ in range(200):
                handle.write(b"\n" * MIB)
    with log.open("ab") as handle:
        handle.write(("\nFATAL out of disk\n" + FRAME.format("END")).encode())
    (root / "shop" / "pods.json").write_text('{"kind": "PodList", "items": []}')
    started = time.monotonic()
    lines = list(tools.SnapshotCluster(root).log_lines("shop", "chatty", "app"))
    assert time.monotonic() - started < 5
    assert lines[0].startswith("[sre: ") and "in the middle of logs.txt not read" in lines[0]
    assert lines[1] == "INFO starting" and lines[-1] == "FATAL out of disk"
    assert len(lines) <= 40_001


def test_a_log_file_past_its_ends_keeps_each_containers_lines_apart(tmp_path: Path) -> None:
    """The part not read may end one container's log and start the next: the lines after it
    belong to the container the next END frame names, never to the one before."""
    log = tmp_path / "shop" / "p" / "logs.txt"
    log.parent.mkdir(parents=True)
    frame = "==== {} logs for container {} of pod shop/p ====\n"
    with log.open("w") as handle:
        handle.write(frame.format("START", "a") + "a-first\n" + "a-noise\n" * 500_000)
        handle.write(frame.format("END", "a") + frame.format("START", "b"))
        handle.write("b-noise\n" * 500_000 + "b-last\n" + frame.format("END", "b"))
    (tmp_path / "shop" / "pods.json").write_text('{"kind": "PodList", "items": []}')
    cluster = tools.SnapshotCluster(tmp_path)
    a = list(cluster.log_lines("shop", "p", "a"))
    b = list(cluster.log_lines("shop", "p", "b"))
    assert a[0].startswith("[sre: ") and a[1] == "a-first" and set(a[2:]) == {"a-noise"}
    assert b[0].startswith("[sre: ") and b[-1] == "b-last" and set(b[1:-1]) == {"b-noise"}


def test_a_container_whose_log_sits_where_the_file_is_not_read_is_told_so(
        tmp_path: Path) -> None:
    """Three chatty containers, the middle one's log wholly in the part not read: not found,
    saying why, rather than as if it had no log."""
    log = tmp_path / "shop" / "p" / "logs.txt"
    log.parent.mkdir(parents=True)
    frame = "==== {} logs for container {} of pod shop/p ====\n"
    with log.open("w") as handle:
        for name in ("a", "b", "c"):
            handle.write(frame.format("START", name) + f"{name}-noise\n" * 400_000
                         + frame.format("END", name))
    (tmp_path / "shop" / "pods.json").write_text('{"kind": "PodList", "items": []}')
    with pytest.raises(tools.NotFound, match=r"no logs for container b of pod shop/p in the "
                       r"first and last 2 MiB of its logs.txt, of which [\d.]+ MiB in the middle "
                       "is not read"):
        list(tools.SnapshotCluster(tmp_path).log_lines("shop", "p", "b"))


def test_a_series_file_past_64_mib_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = sparse(tmp_path / "metrics" / "cpu.om", b"# TYPE x gauge\n")
    with pytest.raises(tools.SnapshotError, match="larger than 64 MiB"):
        read_openmetrics(huge)


def test_a_series_file_that_is_a_fifo_is_refused_not_read_for_ever(tmp_path: Path) -> None:
    fifo = tmp_path / "cpu.om"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # were it read, this ends it in 2 s
    hang_up = threading.Timer(2, os.close, (writer,))
    hang_up.start()
    try:
        with pytest.raises(tools.SnapshotError, match="not a file"):
            read_openmetrics(fifo)
    finally:
        hang_up.join()


def twenty_lines_then_trickle(client: socket.socket, stop: threading.Event) -> None:
    """Twenty log lines at once, then one byte every 0.3 s, for ever."""
    client.sendall(_head(b"Transfer-Encoding: chunked\r\n"))
    lines = b"".join(b"line %02d\n" % number for number in range(20))
    client.sendall(b"%x\r\n%s\r\n" % (len(lines), lines))
    while not stop.wait(0.3):
        client.sendall(b"1\r\n \r\n")


def twenty_lines(client: socket.socket, stop: threading.Event) -> None:
    """A whole log of twenty lines."""
    client.sendall(_head(b"Transfer-Encoding: chunked\r\n"))
    lines = b"".join(b"line %02d\n" % number for number in range(20))
    client.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(lines), lines))


def test_a_trickling_log_is_cut_at_the_request_timeout(
        garbage: Callable[[Answer], int], tmp_path: Path) -> None:
    port = garbage(twenty_lines_then_trickle)
    cluster = tools.open_cluster(kubeconfig=str(kubeconfig(tmp_path / "kc", port)),
                                 timeouts=tools.Timeouts(connect=1, read=1, total=2))
    started = time.monotonic()
    with pytest.raises(tools.Unreachable, match="did not finish answering "
                       "/api/v1/namespaces/shop/pods/web/log within 2 s"):
        list(cluster.log_lines("shop", "web", "app"))
    cluster.close()
    assert time.monotonic() - started < 5


def test_a_long_read_of_a_log_is_not_cut_at_the_request_timeout(
        garbage: Callable[[Answer], int], tmp_path: Path) -> None:
    """The clock runs while the server is waited for, not while the reader works."""
    port = garbage(twenty_lines)
    cluster = tools.open_cluster(kubeconfig=str(kubeconfig(tmp_path / "kc", port)),
                                 timeouts=tools.Timeouts(connect=1, read=1, total=2))
    read = []
    for line in cluster.log_lines("shop", "web", "app"):
        read.append(line)
        time.sleep(0.2)  # 4 s of reading the twenty lines
    cluster.close()
    assert read == [f"line {number:02d}" for number in range(20)]


def test_a_log_whose_end_cannot_be_read_keeps_its_start_and_says_why(
        garbage: Callable[[Answer], int], tmp_path: Path) -> None:
    """The first 2 MiB came; the request for the last lines fails (a kubelet's 500): the
    lines read are kept, after one saying why the end is missing."""
    asked = []

    def first_then_fail(client: socket.socket, stop: threading.Event) -> None:
        asked.append(1)
        if len(asked) == 1:
            body = b"".join(b"served request %07d\n" % n for n in range(150_000))
            client.sendall(_head(b"Content-Length: %d\r\n" % len(body)) + body)
        else:
            body = b'{"kind":"Status","status":"Failure","message":"kubelet down","code":500}'
            client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: "
                           b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                           + body)

    port = garbage(first_then_fail)
    cluster = tools.open_cluster(kubeconfig=str(kubeconfig(tmp_path / "kc", port)),
                                 timeouts=tools.Timeouts(connect=2, read=5, total=10))
    read = list(cluster.log_lines("shop", "web", "app"))
    cluster.close()
    assert read[0].startswith("[sre: only the first 20,000 lines of this log were read; its end:")
    assert "500" in read[0] or "kubelet down" in read[0], read[0]
    assert read[1] == "served request 0000000" and len(read) > 19_000


def test_a_server_that_ignores_tail_lines_is_not_read_to_its_end(
        garbage: Callable[[Answer], int], tmp_path: Path) -> None:
    """The last lines' answer never ends, fast (a server that ignores `tailLines`): the clock
    only runs while the server is waited for, so what bounds the read is its size."""
    asked = []

    def head_then_endless(client: socket.socket, stop: threading.Event) -> None:
        asked.append(1)
        client.sendall(_head(b"Transfer-Encoding: chunked\r\n"))
        block = b"".join(b"tick %07d\n" % n for n in range(6_000))
        while not stop.is_set():
            client.sendall(b"%x\r\n%s\r\n" % (len(block), block))
            if len(asked) == 1:
                time.sleep(0.001)  # the first answer (the log's start) is simply long

    port = garbage(head_then_endless)
    cluster = tools.open_cluster(kubeconfig=str(kubeconfig(tmp_path / "kc", port)),
                                 timeouts=tools.Timeouts(connect=2, read=5, total=10))
    read: list[str] = []
    reader = threading.Thread(target=lambda: read.extend(cluster.log_lines("shop", "web", "app")),
                              daemon=True)
    reader.start()
    reader.join(300)
    cluster.close()
    assert not reader.is_alive(), "the end of an endless log was read for 5 minutes"
    assert read[0].startswith("[sre: the middle of this log was not read") and read[-1]
    assert len(read) <= 2 * 20_000 + 2


# --- kubeconfigs ----------------------------------------------------------------------------------

def test_a_kubeconfig_of_nested_aliases_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """Ten levels of nine aliases: 3.5 billion values once expanded (the client took 4 GB)."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 10)]
    config = tmp_path / "kc"
    config.write_text("\n".join([*lines, "clusters: *l9", "contexts: *l9", "users: *l9", ""]))
    code, peak, stderr = measured(["diagnose", "--kubeconfig", str(config)],
                                  {"HOME": str(tmp_path)}, timeout=30)
    assert code == 3, stderr
    assert f"kubeconfig {config} holds more than 100,000 values once its YAML aliases" \
        in one_line(stderr)
    assert peak < 250, f"peak RSS {peak} MiB"


# --- a log read from both ends: where the two windows cut ---------------------------------------

def kubelet(log: list[str]) -> Callable[[dict[str, str]], Iterator[bytes]]:
    """What a kubelet answers for `limitBytes` and `tailLines`, in 64 KiB chunks."""
    def fetch(extra: dict[str, str]) -> Iterator[bytes]:
        if "limitBytes" in extra:
            body = "".join(f"{line}\n" for line in log).encode()[:int(extra["limitBytes"])]
        else:
            body = "".join(f"{line}\n" for line in log[-int(extra["tailLines"]):]).encode()
        return (body[at:at + 65536] for at in range(0, len(body), 65536))
    return fetch


def test_a_secret_block_longer_than_a_few_hundred_lines_at_the_seam_is_not_shown() -> None:
    """The last lines start 50 lines into a 300-line block under `password: |`."""
    log = [f"2026-12-07T10:00:00Z INFO request {n:06d} served" for n in range(60_000)]
    start = len(log) - 20_000 - 50
    log[start] = "  password: |"
    log[start + 1:start + 301] = [f"    S3CR{n:04d}Xk9LmPw7" for n in range(300)]
    read = list(log_ends.both_ends(kubelet(log)))
    assert not [line for line in read if "S3CR" in line]
    assert read[-1] == log[-1] and "[sre: the middle of this log was not read]" in read


def test_last_lines_cut_at_their_size_limit_keep_no_broken_line() -> None:
    """20,000 lines of 4 KiB are 80 MiB: the answer is dropped at 64 MiB, mid-line; no piece
    of a line is shown, and the answer says the log's end was not read."""
    log = [f"{n:06d} " + "connecting postgres://admin:S3CRpw77q@db.prod:5432/app " * 70
           for n in range(40_000)]
    read = list(log_ends.both_ends(kubelet(log)))
    whole = set(log)
    body = [line for line in read if not line.startswith("[sre: ")]
    assert body and all(line in whole for line in body)
    assert read[-1].startswith("[sre: the end of this log was not read")
