"""Kubeconfig files as kubectl reads them.

`KUBECONFIG` may list several files, separated by `:` (`;` on Windows). kubectl merges them:
the first file to define a cluster, user or context of a name wins, and so does the first file
to set `current-context`; files in the list that do not exist are skipped.

    files = Kubeconfigs.named("~/.kube/config:./staging.yaml")
    files.existing          # the files to merge, in order
    files.current_context   # the first one set, as kubectl picks it

The kubernetes client merges names the same way (first wins), but takes the *last*
`current-context` it reads; `tools.live.connect` passes `current_context` explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT = "~/.kube/config"


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
                doc = yaml.safe_load(path.read_text())
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
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
                doc = yaml.safe_load(path.read_bytes().decode("utf-8"))
            except OSError as e:
                return f"kubeconfig {path} cannot be read: {e.strerror or e}"
            except UnicodeDecodeError:
                return f"kubeconfig {path} is not text (a kubeconfig is YAML)"
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                where = f" (line {mark.line + 1})" if mark is not None else ""
                return f"kubeconfig {path} is not valid YAML{where}"
            if not isinstance(doc, dict) or not isinstance(doc.get("clusters", []), list):
                return (f"kubeconfig {path} is not a kubeconfig (expected a mapping with "
                        "clusters, contexts and users)")
        return None

    @property
    def current_context(self) -> str | None:
        """The first `current-context` set among the existing files, as kubectl picks it."""
        for path in self.existing:
            try:
                doc = yaml.safe_load(path.read_text())
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # the client's own loader says what is wrong with it
            name = doc.get("current-context") if isinstance(doc, dict) else None
            if isinstance(name, str) and name:
                return name
        return None
