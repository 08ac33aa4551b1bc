"""Import the parts of the ``kubernetes`` package a grading run uses, not all of it.

``import kubernetes.<anything>`` runs the package's ``__init__`` first, and
that imports every sub-package: the dynamic client (which pulls in
``kubernetes_validate`` and ``jsonschema`` when they are installed), watch,
stream, leaderelection, informer, utils. labgrade needs ``config`` (kubeconfig
and in-cluster semantics, auth plugins) and ``client`` (ApiClient, its pool,
exceptions); everything else is a fifth of a cold ``labgrade grade``.

:func:`light` registers the package without running its ``__init__``: its
sub-packages still import normally (``from kubernetes import client``,
``import kubernetes.stream``), on demand, and attribute access on the
package imports the sub-package it names, so code expecting the eager
package keeps working. If ``kubernetes`` is already imported (a test suite,
a library user), nothing changes.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType

_lock = threading.Lock()


def light() -> None:
    with _lock:
        if "kubernetes" in sys.modules:
            return
        spec = importlib.util.find_spec("kubernetes")
        if spec is None or not spec.submodule_search_locations:
            return  # not installed: the import that follows says so
        module = importlib.util.module_from_spec(spec)  # the package, without running its __init__

        def __getattr__(name: str) -> ModuleType:
            if name.startswith("__"):
                raise AttributeError(name)
            try:
                return importlib.import_module(f"kubernetes.{name}")
            except ModuleNotFoundError:
                raise AttributeError(f"module 'kubernetes' has no attribute {name!r}") from None

        module.__getattr__ = __getattr__  # type: ignore[attr-defined]
        sys.modules["kubernetes"] = module
