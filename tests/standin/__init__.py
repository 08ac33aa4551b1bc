"""A stand-in Kubernetes API server for labgrade's tests.

``StandIn(objects)`` serves ``kubectl get -o json``-shaped dicts to the real
``kubernetes`` client over HTTP on 127.0.0.1 (lists, gets, selectors,
pagination, discovery, Status errors), runs ``pods/exec`` and
``pods/portforward`` over websockets with the kubelet's framing, and answers
DNS like CoreDNS.  See ``server.py`` for the API and ``fixtures.py`` for the
pytest fixtures.
"""
from tests.standin.exec_model import ExecReply, PodShell
from tests.standin.faults import Fault
from tests.standin.server import RecordedRequest, StandIn

__all__ = ["ExecReply", "Fault", "PodShell", "RecordedRequest", "StandIn"]
