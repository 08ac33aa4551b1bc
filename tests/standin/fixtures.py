"""pytest fixtures for the stand-in API server.

Import them into a conftest (or a test module) to use them::

    from tests.standin.fixtures import make_standin, standin, standin_api_client  # noqa: F401

``make_standin(objects, **kwargs)`` starts servers that stop at teardown;
``standin`` is one serving :func:`tests.standin.objects.lab_cluster`;
``standin_api_client`` is a ``kubernetes.client.ApiClient`` configured from
the stand-in's kubeconfig exactly as the grader's live mode loads one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from tests.standin.objects import lab_cluster
from tests.standin.server import StandIn


def load_dump(path: str | Path) -> list[dict[str, Any]]:
    """Objects of a ``kubectl get ... -o yaml|json`` dump (a List)."""
    return yaml.safe_load(Path(path).read_text())["items"]


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
