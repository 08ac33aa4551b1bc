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

Two of the modules a run does use import, at their top, libraries for one
way of authenticating or of decoding each, which a run that does not go that
way never calls: the kubeconfig loader takes ``OAuth2Session`` from
requests-oauthlib (with requests and oauthlib under it) to refresh an OIDC
token, and ``ApiClient`` takes dateutil's ``parse`` for date fields of typed
models and ``ThreadPool`` for ``async_req`` calls (labgrade reads raw JSON and
calls synchronously). Together they were a sixth of a cold run's CPU.
:func:`light` also defers exactly those names (:data:`DEFERRED`): while one of
those two modules is executed, ``from requests_oauthlib import OAuth2Session``
binds a stand-in that imports the real library and calls the real class on
first use, so an OIDC kubeconfig refreshes as before and every other importer
of the library gets the real module. Nothing is deferred for a library that is
not installed (the import fails where it always did).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

_lock = threading.Lock()

#: importing module -> {library module: the names it takes from it at its top that
#: only one code path calls}. Each name must be a callable that the importer only
#: calls (no isinstance, no subclassing): tests/grader/test_cold_start.py reads the
#: importers' source to keep this true.
DEFERRED: dict[str, dict[str, tuple[str, ...]]] = {
    "kubernetes.config.kube_config": {
        "requests_oauthlib": ("OAuth2Session",),  # _refresh_oidc
        "oauthlib.oauth2": (),  # `import oauthlib.oauth2`, read in _refresh_oidc's except clause
    },
    "kubernetes.client.api_client": {
        "dateutil.parser": ("parse",),  # __deserialize_date / __deserialize_datetime of typed models
        "multiprocessing.pool": ("ThreadPool",),  # the pool property, for async_req=True
    },
}

_executing = threading.local()  # the stack of DEFERRED importers this thread is executing


class Deferred:
    """Stands for ``module.name`` in the importer's namespace until it is used:
    a call (or any attribute) imports the real module and uses the real object."""

    __slots__ = ("_module", "_name", "_real")

    def __init__(self, module: str, name: str):
        self._module, self._name, self._real = module, name, None

    def resolve(self) -> Any:
        if self._real is None:
            self._real = getattr(importlib.import_module(self._module), self._name)
        return self._real

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.resolve(), attr)

    def __repr__(self) -> str:
        return f"<deferred {self._module}.{self._name}>"


class _Placeholder(importlib.abc.Loader):
    """The module an importer gets for a deferred library while it executes: the
    names it takes are :class:`Deferred`, any other attribute is the real one."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = ModuleType(spec.name)
        fullname, names = spec.name, self.names

        def __getattr__(name: str) -> Any:
            if name in names:
                return Deferred(fullname, name)
            if name.startswith("__"):
                raise AttributeError(name)
            # A name DEFERRED does not list (a newer client takes more): the real module, now,
            # in the placeholder's place, as if nothing had been deferred.
            if sys.modules.get(fullname) is module:
                del sys.modules[fullname]
            return getattr(importlib.import_module(fullname), name)

        module.__getattr__ = __getattr__  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: ModuleType) -> None:
        pass


class _Deferring(importlib.abc.Loader):
    """Executes one DEFERRED importer with its libraries served as placeholders,
    then takes the placeholders out of ``sys.modules`` (and off their parent
    packages), so that the next ``import`` of a library is the real one."""

    def __init__(self, inner: Any, fullname: str):
        self.inner, self.fullname = inner, fullname

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        stack = _executing.__dict__.setdefault("stack", [])
        stack.append(self.fullname)
        try:
            self.inner.exec_module(module)
        finally:
            stack.pop()
            for name in DEFERRED[self.fullname]:
                placeholder = sys.modules.get(name)
                if placeholder is not None and isinstance(getattr(placeholder.__spec__, "loader", None), _Placeholder):
                    del sys.modules[name]
                    parent, _, child = name.rpartition(".")
                    if parent and getattr(sys.modules.get(parent), child, None) is placeholder:
                        delattr(sys.modules[parent], child)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...: the real loader's
        return getattr(self.inner, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in DEFERRED:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.loader is not None:
                spec.loader = _Deferring(spec.loader, fullname)
            return spec
        stack = getattr(_executing, "stack", None)
        if not stack or fullname not in DEFERRED[stack[-1]]:
            return None
        if importlib.machinery.PathFinder.find_spec(fullname, path) is None:
            return None  # not installed: the importer's import fails as it would have
        return importlib.machinery.ModuleSpec(fullname, _Placeholder(DEFERRED[stack[-1]][fullname]))


_FINDER = _Finder()


def client_and_config() -> tuple[ModuleType, ModuleType]:
    """``kubernetes.client`` and ``kubernetes.config`` (kubeconfig loader, ApiClient and the
    pydantic models under it), imported after :func:`light` with the cyclic garbage collector
    paused: those imports allocate a few hundred thousand objects that live as long as the
    process and free none, and the collector walked them over and over for nothing (~10% of
    a cold run's CPU). Reference counting still frees what is dropped."""
    light()
    from grader.sources.gcpause import paused_gc

    with paused_gc():
        from kubernetes import client, config
    return client, config


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
        if _FINDER not in sys.meta_path and not any(m in sys.modules for m in DEFERRED):
            sys.meta_path.insert(0, _FINDER)
        sys.modules["kubernetes"] = module
