"""A throwaway certificate authority for the test cluster, made with the `openssl` command.

Keys are EC P-256: instant to generate, and accepted by kube-apiserver for serving, for client
certificates and for signing service-account tokens.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

_DAYS = "7"


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """Every certificate and key kube-apiserver and the fake kubelet need."""

    ca: KeyPair
    apiserver: KeyPair  # serving certificate of kube-apiserver
    kubelet: KeyPair  # serving certificate of the fake kubelet
    kubelet_client: KeyPair  # what kube-apiserver presents to the kubelet
    service_account_key: Path  # private key that signs service-account tokens
    service_account_pub: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _new_key(path: Path) -> Path:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path),
        cwd=path.parent,
    )
    path.chmod(0o600)
    return path


def _issue(ca: KeyPair, name: str, subject: str, extensions: list[str], directory: Path) -> KeyPair:
    key = _new_key(directory / f"{name}.key")
    csr = directory / f"{name}.csr"
    ext = directory / f"{name}.ext"
    cert = directory / f"{name}.crt"
    ext.write_text("\n".join(extensions) + "\n")
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr), cwd=directory)
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
        "-set_serial", str(secrets.randbits(63)), "-days", _DAYS, "-sha256",
        "-extfile", str(ext), "-out", str(cert),
        cwd=directory,
    )
    csr.unlink()
    ext.unlink()
    return KeyPair(cert=cert, key=key)


def make_pki(directory: Path) -> Pki:
    """Create a CA and the certificates issued by it under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key(directory / "ca.key")
    ca_cert = directory / "ca.crt"
    _openssl(
        "req", "-x509", "-new", "-key", str(ca_key), "-subj", "/CN=sre-harness-ca",
        "-days", _DAYS, "-sha256",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", str(ca_cert),
        cwd=directory,
    )
    ca = KeyPair(cert=ca_cert, key=ca_key)
    serving = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
               "extendedKeyUsage=serverAuth"]
    apiserver = _issue(
        ca, "apiserver", "/CN=kube-apiserver",
        [*serving, "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
                   "DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1"],
        directory,
    )
    kubelet = _issue(
        ca, "kubelet", "/CN=sre-harness-kubelet",
        [*serving, "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        directory,
    )
    kubelet_client = _issue(
        ca, "kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client",
        ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
         "extendedKeyUsage=clientAuth"],
        directory,
    )
    sa_key = _new_key(directory / "service-account.key")
    sa_pub = directory / "service-account.pub"
    _openssl("pkey", "-in", str(sa_key), "-pubout", "-out", str(sa_pub), cwd=directory)
    return Pki(
        ca=ca, apiserver=apiserver, kubelet=kubelet, kubelet_client=kubelet_client,
        service_account_key=sa_key, service_account_pub=sa_pub,
    )
