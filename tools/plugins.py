"""The credential plugins the kubernetes client runs for a kubeconfig's user (`exec`, an
auth-provider's `cmd-path`), given a deadline: the client waits on them for ever, so a plugin
that hangs (on a login prompt, a network) would hang the CLI.

    with plugins.within(60):
        kube_config.load_kube_config(...)      # a plugin past 60 s: `PluginTimedOut`
    plugins.refresh_within(configuration, 60)  # and whenever its token is refreshed

The client runs them with `subprocess.Popen` from its `exec_provider` and `kube_config`
modules; `within` has them run by `_DeadlinedPopen` meanwhile, one load at a time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import SimpleNamespace
from typing import Any

from kubernetes import config as kube_config
from kubernetes.client import Configuration
from kubernetes.config import exec_provider


class PluginTimedOut(Exception):
    """A credential plugin that gave no answer in time; the message names its command."""


class _DeadlinedPopen(subprocess.Popen):  # type: ignore[type-arg]
    """A credential plugin's process, given `seconds` to answer (the client waits forever):
    past them it is killed with every process it started (it runs in a session of its own),
    and what it left unsaid is not waited for."""

    seconds = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "start_new_session": True})

    def communicate(self, input: Any = None, timeout: float | None = None) -> Any:
        try:
            return super().communicate(input, self.seconds if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)  # its group: the shell and its children
            self.wait()
            for pipe in (self.stdout, self.stderr):
                if pipe is not None:
                    pipe.close()
            raise PluginTimedOut(f"{_command(self.args)} gave no answer within "
                                 f"{self.seconds:g} s and was stopped") from None


def _command(args: Any) -> str:
    """The program a plugin runs, as the kubeconfig names it (`aws`, `/usr/bin/gke-auth`)."""
    return str(args[0] if isinstance(args, list | tuple) and args else args)[:120]


_PLUGINS = threading.Lock()  # the client's plugin runner is swapped for one call at a time


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Have the client's credential plugins run by `_DeadlinedPopen`, given `seconds`: its
    `ExecProvider` (`exec`) and `CommandTokenSource` (an auth-provider's `cmd-path`) run them
    with `subprocess.Popen` and no timeout."""
    bounded = SimpleNamespace(Popen=type("_Bounded", (_DeadlinedPopen,), {"seconds": seconds}),
                              PIPE=subprocess.PIPE)
    runners = (exec_provider, kube_config.kube_config)
    with _PLUGINS:
        for module in runners:
            module.subprocess = bounded  # type: ignore[attr-defined]
        try:
            yield
        finally:
            for module in runners:
                module.subprocess = subprocess  # type: ignore[attr-defined]


def refresh_within(configuration: Configuration, seconds: float) -> None:
    """Keep the plugin's deadline when the client runs it again, its token expired (the
    client's hook sets itself anew each time it runs)."""
    refresh = configuration.refresh_api_key_hook
    if refresh is None:
        return

    def bounded(settings: Configuration) -> None:
        with within(seconds):
            refresh(settings)
        refresh_within(settings, seconds)

    configuration.refresh_api_key_hook = bounded
