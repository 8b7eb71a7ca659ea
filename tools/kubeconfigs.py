"""Where the live backend connects: kubeconfig files as kubectl reads them, else the pod's
in-cluster service account; what makes either unusable, as one sentence.

`KUBECONFIG` may list several files, separated by `:` (`;` on Windows). kubectl merges them:
the first file to define a cluster, user or context of a name wins, and so does the first file
to set `current-context`; files in the list that do not exist are skipped.

    files = Kubeconfigs.named("~/.kube/config:./staging.yaml")
    files.existing          # the files to merge, in order
    files.current_context   # the first one set, as kubectl picks it

The kubernetes client merges names the same way (first wins), but takes the *last*
`current-context` it reads; `load` passes `current_context` explicitly.

`load` fills the client's `Configuration` and raises `ConfigurationError` with one sentence a
user can act on: no kubeconfig, a file that is not a kubeconfig, one past the limits a kubeconfig
keeps (`MAX_BYTES`, `MAX_DEPTH`, `MAX_VALUES` once its YAML aliases are expanded: told before the
client parses it), an unknown context, a field of the wrong shape, a file it names that cannot
be read (`tokenFile`, a certificate), a credential plugin that failed or gave no answer in
time (`plugin_seconds`), a server address no request could go to.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from kubernetes import config as kube_config
from kubernetes.client import Configuration
from kubernetes.config.config_exception import ConfigException

from . import plugins
from .errors import ConfigurationError
from .sizes import mib, read_at_most

DEFAULT = "~/.kube/config"
# Of one kubeconfig file. The kubernetes client parses it with PyYAML's pure-Python loader,
# about a second per MiB (a 15 MB token held the CLI 50 s): 4 MiB is a kubeconfig of some 500
# clusters with their certificates, read in a few seconds. Ours use libyaml when present.
MAX_BYTES = 4 * 1024 * 1024
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same documents, parsed in C
MAX_DEPTH = 64  # levels of nesting
_TOO_DEEP = f"nests deeper than {MAX_DEPTH} levels"
# Scalars and collections, aliases expanded: a kubeconfig of 500 clusters holds some 10,000;
# the client's pure-Python loader takes ~20 s for a million (200,000 aliases took 25 s).
MAX_VALUES = 100_000


@dataclass(frozen=True)
class Kubeconfigs:
    listed: tuple[Path, ...]

    @classmethod
    def named(cls, spec: str | None) -> Kubeconfigs:
        """The files `spec` lists (one path or an `os.pathsep` list); ~/.kube/config if none."""
        parts = [part for part in (spec or DEFAULT).split(os.pathsep) if part.strip()]
        return cls(tuple(Path(part).expanduser() for part in parts or [DEFAULT]))

    @property
    def existing(self) -> list[Path]:
        return [path for path in self.listed if path.is_file()]

    @property
    def config_file(self) -> str:
        """The existing files joined as the kubernetes client's loader takes them."""
        return os.pathsep.join(str(path) for path in self.existing)

    def describe(self) -> str:
        return ", ".join(str(path) for path in self.listed)

    @property
    def contexts(self) -> list[str]:
        """The names of the contexts the existing files define (unreadable files: none)."""
        names: list[str] = []
        for path in self.existing:
            try:
                doc = _parsed(path)
            except Unusable:
                continue
            entries = doc.get("contexts") if isinstance(doc, dict) else None
            names += [str(e["name"]) for e in entries or [] if isinstance(e, dict)
                      and isinstance(e.get("name"), str)] if isinstance(entries, list) else []
        return sorted(set(names))

    def problem(self) -> str | None:
        """What makes a file unusable as a kubeconfig (not YAML, not text, not a mapping), as
        one sentence naming the file; None when each is a mapping."""
        for path in self.existing:
            try:
                doc = _parsed(path)
            except Unusable as e:
                return str(e)
            if not isinstance(doc, dict) or not isinstance(doc.get("clusters", []), list):
                return (f"kubeconfig {path} is not a kubeconfig (expected a mapping with "
                        "clusters, contexts and users)")
            named = _named_file_problem(path, doc)
            if named:
                return named
        return None

    @property
    def current_context(self) -> str | None:
        """The first `current-context` set among the existing files, as kubectl picks it."""
        for path in self.existing:
            try:
                doc = _parsed(path)
            except Unusable:
                continue  # `problem` says what is wrong with it
            name = doc.get("current-context") if isinstance(doc, dict) else None
            if isinstance(name, str) and name:
                return name
        return None


class Unusable(Exception):
    """A kubeconfig file that cannot be read as one; the message names it and says why."""


MAX_NAMED_BYTES = 1024 * 1024  # of a token, certificate or key file a kubeconfig names
_NAMED_FILES = (("users", "user", ("tokenFile", "client-certificate", "client-key")),
                ("clusters", "cluster", ("certificate-authority",)))


def _named_file_problem(path: Path, doc: dict[str, Any]) -> str | None:
    """A credential file the kubeconfig names (`tokenFile`, a certificate or key) that is not a
    regular file of at most `MAX_NAMED_BYTES`: the client would read `/dev/zero` until memory
    runs out, or wait on a FIFO forever. A missing file is told where the client reads it."""
    for section, field, keys in _NAMED_FILES:
        entries = doc.get(section)
        for entry in entries if isinstance(entries, list) else []:
            inner = entry.get(field) if isinstance(entry, dict) else None
            for key in keys:
                name = inner.get(key) if isinstance(inner, dict) else None
                if not isinstance(name, str) or not name:
                    continue
                try:
                    found = os.stat(path.parent / name)  # an absolute name stays itself
                except OSError:
                    continue
                if not stat.S_ISREG(found.st_mode) or found.st_size > MAX_NAMED_BYTES:
                    return (f"kubeconfig {path} names {key} {name}, which is not a regular file "
                            f"of at most {mib(MAX_NAMED_BYTES)} (a token or certificate is a "
                            "few KB)")
    return None


def _parsed(path: Path) -> object:
    """The YAML document in `path`, read within the limits a kubeconfig keeps (`Unusable`
    otherwise): at most `MAX_BYTES` of UTF-8 text, nested at most `MAX_DEPTH` levels, and at
    most `MAX_VALUES` values once its aliases are expanded, told before any is: ten levels of
    aliases, ten to a level, are ten billion values to a loader that copies them."""
    try:
        data = read_at_most(path, MAX_BYTES)
    except OSError as e:
        raise Unusable(f"kubeconfig {path} cannot be read: {e.strerror or e}") from e
    if data is None:
        raise Unusable(f"kubeconfig {path} is larger than {mib(MAX_BYTES)}; a kubeconfig is a "
                       "few KB (`kubectl config view --minify --flatten` writes one holding only "
                       "the current context)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Unusable(f"kubeconfig {path} is not text (a kubeconfig is YAML)") from e
    try:
        problem = _expansion_problem(text)
        if problem:
            raise Unusable(f"kubeconfig {path} {problem}")
        return yaml.load(text, Loader=_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError as e:
        if getattr(e, "problem", None) == "exceeded maximum nesting depth":  # libyaml's, 1000:
            raise Unusable(f"kubeconfig {path} {_TOO_DEEP}") from e  # its scanner reads ahead
        raise Unusable(f"kubeconfig {path} is not valid YAML{_where(text, e)}") from e


def _where(text: str, error: yaml.YAMLError) -> str:
    """` (line N)`: where the client's loader, PyYAML's own, finds the error in `text` (libyaml
    names the line it gave up on, often the last); its events only, nothing is built."""
    try:
        list(yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as own:
        error = own
    mark = getattr(error, "problem_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""


def _expansion_problem(text: str) -> str | None:
    """What makes `text` too large to load once its aliases are expanded, or too deep, told from
    its YAML events (each alias counts the values of its anchor), before anything is built."""
    sizes: dict[str, int] = {}  # anchor -> values in its node, aliases expanded
    open_nodes: list[list[Any]] = [[None, 0]]  # [anchor, values so far] per open collection
    for event in yaml.parse(text, Loader=_LOADER):  # as `safe_load` reads it
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) > MAX_DEPTH:
                return _TOO_DEEP
            open_nodes.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, values = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, values = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, values = None, sizes.get(event.anchor or "")
            if values is None:  # an alias inside its own anchor, or to none
                return f"has a YAML alias (*{event.anchor}) to no finished anchor"
        else:
            continue
        if anchor:
            sizes[anchor] = values
        open_nodes[-1][1] += values
        if open_nodes[-1][1] > MAX_VALUES:
            return (f"holds more than {MAX_VALUES:,} values once its YAML aliases (*name) are "
                    "expanded; a kubeconfig holds a few hundred")
    return None


def load(*, kubeconfig: str | None, context: str | None,
         in_cluster_env: dict[str, str] | None,
         plugin_seconds: float = 60.0) -> tuple[Configuration, str]:
    """The client's configuration from a kubeconfig (and context), else the in-cluster service
    account, and where it came from (`context prod`, `in-cluster service account`).

    `in_cluster_env` is the process environment the caller read once (settings own the
    environment); in-cluster config is tried only when no kubeconfig exists. A credential
    plugin (`exec`) the user's entry runs has `plugin_seconds` to answer, when the
    configuration is loaded and whenever its token is refreshed, else it is stopped.
    """
    configuration = Configuration()
    files = Kubeconfigs.named(kubeconfig)  # a KUBECONFIG list is merged as kubectl merges it
    if kubeconfig or files.existing:
        if not files.existing:
            raise ConfigurationError(f"no kubeconfig at {files.describe()}; pass --kubeconfig "
                                     "or --snapshot")
        problem = files.problem()
        if problem is not None:
            raise ConfigurationError(problem)
        context = context or files.current_context  # kubectl's pick: the first one set
        _load_kubeconfig(files, context, configuration, plugin_seconds)
        source = f"context {context or '?'}"
    elif in_cluster_env and in_cluster_env.get("KUBERNETES_SERVICE_HOST"):
        try:
            kube_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as e:
            raise ConfigurationError(
                "running in a pod but its service account cannot be used: mount a token or "
                "pass --snapshot"
            ) from e
        source = "in-cluster service account"
    else:
        raise ConfigurationError(
            f"no kubeconfig at {files.describe()} and not running in a cluster: set "
            "KUBECONFIG, pass --context, or use --snapshot DIR"
        )
    _check_server(str(configuration.host))
    return configuration, source


def _load_kubeconfig(files: Kubeconfigs, context: str | None,
                     configuration: Configuration, plugin_seconds: float) -> None:
    """Fill `configuration` from the kubeconfig, or a `ConfigurationError` saying what in it
    cannot be used: a missing context, a field of the wrong shape, a file it names that cannot
    be read (`tokenFile`, a certificate), a credential plugin that failed or gave no answer
    within `plugin_seconds` (which the client only logs, leaving the request to fail later
    for another reason)."""
    failed: list[logging.LogRecord] = []
    with _kept(failed), plugins.within(plugin_seconds):
        try:
            kube_config.load_kube_config(
                config_file=files.config_file, context=context,
                client_configuration=configuration, persist_config=False,
            )
        except ConfigException as e:
            raise ConfigurationError(_config_problem(files, context)) from e
        except (TypeError, AttributeError, KeyError, ValueError) as e:  # a field of the wrong
            raise ConfigurationError(  # shape (`server: 12345`, a list where a map goes)
                f"kubeconfig {files.describe()} cannot be used: a field has the wrong shape "
                f"(context {context or '?'}: its cluster's server must be an http(s) URL, its "
                "user's fields text)") from e
        except OSError as e:
            raise ConfigurationError(
                f"kubeconfig {files.describe()} cannot be used: context {context or '?'} names "
                f"a file that cannot be read ({e.filename}: {e.strerror})") from e
        except plugins.PluginTimedOut as e:  # an auth-provider's `cmd-path`: the client lets it out
            raise _plugin_failed(files, context, str(e)) from e
    plugins.refresh_within(configuration, plugin_seconds)
    if failed:
        raise _plugin_failed(files, context, failed[0].getMessage())


def _plugin_failed(files: Kubeconfigs, context: str | None, said: str) -> ConfigurationError:
    """The error for a credential plugin that failed, with the first line of what it said."""
    first = (said.strip().splitlines() or [""])[0][:200]
    return ConfigurationError(
        f"kubeconfig {files.describe()} cannot be used: context {context or '?'}: its "
        f"user's credential plugin failed ({first})")


@contextmanager
def _kept(records: list[logging.LogRecord]) -> Iterator[None]:
    """Keep the errors the kubeconfig loader logs to the root logger (`exec: process returned
    1`) in `records`, instead of printing them."""
    def keep(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "kubernetes" in record.pathname:
            records.append(record)
            return False
        return True

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _check_server(host: str) -> None:
    """`ConfigurationError` for a server address no request could go to (`http://[::1`, a port
    past 65535), said before any request is tried."""
    try:
        parts = urlsplit(host)
        parts.port  # noqa: B018  # parsing the port is the check
    except ValueError as e:
        raise ConfigurationError(f"the kubeconfig's server address {host!r} is not a valid URL "
                                 "(its host or its port, 1-65535)") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"the kubeconfig's server address {host!r} is not an http(s) "
                                 "URL")
    if parts.username is not None or parts.password is not None:  # never sent, never shown
        raise ConfigurationError(f"the kubeconfig's server address for {parts.hostname} holds "
                                 "credentials (user:password@); put them in the kubeconfig's "
                                 "user entry instead")


def _config_problem(files: Kubeconfigs, context: str | None) -> str:
    """Why the client refused the kubeconfig: an unknown context (naming the known ones),
    else its current context or credentials."""
    where = ", ".join(str(path) for path in files.existing)
    if context:
        names = files.contexts
        if context not in names:
            known = ", ".join(names) or "none"
            return f"no context {context!r} in {where}; known contexts: {known}"
    return f"kubeconfig {where} cannot be used; check its current context and credentials"
