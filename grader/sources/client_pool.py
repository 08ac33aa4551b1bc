"""One loaded kubeconfig per (file, context), one API client per student.

A pool shared by all of a batch's workers would be too small for their
parallel LISTs, and loading a kubeconfig per student would re-parse it and
rewrite its certificates each time: the configuration is loaded once, and
each student gets a client (its own connection pool) made from it.
"""
from __future__ import annotations

import threading
from typing import Any

from grader.errors import InputError


class ClientPool:
    """Configurations by (kubeconfig, context); :meth:`client` makes a new
    ApiClient from one. A bad kubeconfig is remembered as its InputError:
    every student using it gets that reason, and it is read once."""

    def __init__(self, roster_kubeconfigs: frozenset[str] = frozenset(), allow_exec_credentials: bool = False) -> None:
        self._lock = threading.Lock()
        self._configs: dict[tuple[str | None, str | None], Any] = {}
        # Kubeconfigs named by the roster are the students' (or anyone's) files:
        # their exec plugins are refused unless the teacher allows them.
        self.roster_kubeconfigs = roster_kubeconfigs
        self.allow_exec_credentials = allow_exec_credentials

    def configuration(self, kubeconfig: str | None, context: str | None) -> Any:
        from grader.sources.live import api_client

        key = (kubeconfig, context)
        allow = self.allow_exec_credentials or kubeconfig not in self.roster_kubeconfigs
        with self._lock:
            if key not in self._configs:
                try:
                    base = api_client(kubeconfig, context, allow_exec_credentials=allow)
                except InputError as exc:  # a bad kubeconfig: every student using it gets this reason
                    self._configs[key] = exc
                else:
                    self._configs[key] = base.configuration
                    base.close()
            cfg = self._configs[key]
        if isinstance(cfg, InputError):
            raise cfg
        return cfg

    def client(self, kubeconfig: str | None, context: str | None) -> Any:
        from grader.sources.kube_import import client_and_config

        client, _ = client_and_config()
        return client.ApiClient(self.configuration(kubeconfig, context))


__all__ = ["ClientPool"]
