"""A stand-in Kubernetes API server for labgrade's tests.

``StandIn(objects)`` serves ``kubectl get -o json``-shaped dicts to the real
``kubernetes`` client over HTTP on 127.0.0.1 (lists, gets, the selectors labgrade sends,
pagination, discovery, Status errors), runs ``pods/exec`` and
``pods/portforward`` over websockets with the kubelet's and the 1.30+ stream
translator's framing, and answers DNS like CoreDNS.

- ``server.StandIn``: the server (``url``, ``kubeconfig_path``, ``requests``,
  ``writes``, ``exec_log``, ``set_objects``, ``compact``, ``disable``,
  ``faults``, ``latency``, ``exec_handler``, ``dns``).
- ``exec_model.ExecReply`` / ``PodShell``: scripted exec results and the
  default busybox-like handler.
- ``fixtures``: ``make_standin``, ``standin``, ``standin_api_client``,
  ``kube_configuration``, ``load_dump``, ``client_model_errors``.
- ``objects``: builders, with ``lab_cluster()`` the lab done right.
"""
from tests.standin.exec_model import ExecReply, PodShell
from tests.standin.faults import Fault
from tests.standin.server import RecordedRequest, StandIn

__all__ = ["ExecReply", "Fault", "PodShell", "RecordedRequest", "StandIn"]
