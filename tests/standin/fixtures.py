"""pytest fixtures for the stand-in API server.

Import them into a conftest (or a test module) to use them::

    from tests.standin.fixtures import make_standin, standin, standin_api_client  # noqa: F401

``make_standin(objects, **kwargs)`` starts servers that stop at teardown;
``standin`` is one serving :func:`tests.standin.objects.lab_cluster`;
``standin_api_client`` is a ``kubernetes.client.ApiClient`` configured from
the stand-in's kubeconfig exactly as the grader's live mode loads one.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from tests.standin.objects import lab_cluster
from tests.standin.server import StandIn


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPS: dict[tuple[str, int, int], list[dict[str, Any]]] = {}


def load_dump(path: str | Path) -> list[dict[str, Any]]:
    """Objects of a ``kubectl get ... -o yaml|json`` dump (a List), a fresh copy each call.

    Tests load the same example dumps hundreds of times; parsing one with the pure-Python
    loader took 0.3 s, so each file is parsed once (libyaml when present) and handed out as
    a copy the test may change."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _DUMPS:
        _DUMPS[key] = yaml.load(p.read_text(), Loader=_LOADER)["items"]
    return copy.deepcopy(_DUMPS[key])


def client_model_errors(objects) -> list[str]:
    """Why the official client (pydantic models, strict about required fields) would
    reject these objects, one line per object; empty when all would load.

    A real API server always fills ``containerStatuses[].imageID`` and friends; a
    hand-written test object that lacks them makes the client raise inside the
    grader, which tests the fixture rather than the grader.
    """
    from kubernetes import client
    from tests.standin.store import flatten

    errors = []
    for obj in flatten(objects):
        version = obj.get("apiVersion", "").rpartition("/")[2]
        model = getattr(client, f"{version[:1].upper()}{version[1:]}{obj.get('kind', '')}", None)
        if model is None:
            continue
        try:
            model.from_dict(obj)
        except Exception as e:  # pydantic.ValidationError, without importing pydantic here
            name = (obj.get("metadata") or {}).get("name")
            errors.append(f"{obj.get('kind')} {name}: {' '.join(str(e).split())}")
    return errors


def shorten_request_deadline(monkeypatch, seconds: float) -> float:
    """The grader's per-request wall-clock deadline (``REQUEST_DEADLINE``, 12 s) as
    ``seconds`` in every module of grader.sources that holds it, for tests that wait for
    it to cut a server that never answers; the DNS probes import it from apiread when
    they run, so they follow too."""
    import sys

    import grader.sources.apiread  # noqa: F401 - the one that defines it, loaded first

    for name, module in list(sys.modules.items()):
        if (name == "grader.sources" or name.startswith("grader.sources.")) and hasattr(module, "REQUEST_DEADLINE"):
            monkeypatch.setattr(module, "REQUEST_DEADLINE", seconds)
    return seconds


def kube_configuration(standin: StandIn, tmp_path: Path, *, token: str | None = None):
    """A client Configuration loaded through ``load_kube_config`` from the stand-in's kubeconfig."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(standin.kubeconfig_path(tmp_path, token=token)),
                            client_configuration=configuration)
    return configuration


@pytest.fixture
def make_standin() -> Iterator[Callable[..., StandIn]]:
    started: list[StandIn] = []

    def make(objects=(), **kwargs: Any) -> StandIn:
        server = StandIn(objects, **kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def standin(make_standin) -> StandIn:
    return make_standin(lab_cluster())


@pytest.fixture
def standin_api_client(standin: StandIn, tmp_path: Path):
    from kubernetes import client

    with client.ApiClient(kube_configuration(standin, tmp_path)) as api_client:
        yield api_client
