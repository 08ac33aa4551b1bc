"""What a container runtime would make of each pod, for kwok's fake nodes: its network and its tools.

Runs inside the cluster's network namespace (where ``ip route add local 10.244.0.0/16 dev lo``
makes every pod IP local) and watches pods through the real API server. For each Running pod
with an IP it:

- binds a listener on ``<podIP>:80`` when the pod's image serves HTTP there (httpd's
  ``It works!`` page, nginx's welcome page); any other pod IP has no listener, so a client gets a
  real RST: ``Connection refused``, as from a container that serves nothing;
- writes a kwok ``ClusterExec`` for that one pod: kwok runs ``kubectl exec`` commands locally,
  here in a folder modelling the image's filesystem (``images/<profile>/bin`` holds the image's
  tools as links to Debian's busybox). kwok resolves the command in its own ``PATH=bin``
  (relative, ``GODEBUG=execerrdot=0``) and Go runs a relative path from the exec's working
  directory, so a tool the image lacks fails to start just like in a runtime:
  ``fork/exec bin/wget: no such file or directory`` in the exec's Failure Status, never an exit
  code. ``LOCALDOMAIN`` gives glibc's resolver the pod's namespace search path;
- writes a kwok ``ClusterPortForward``: port 80 to the pod's listener, port 53 of a CoreDNS pod
  to the real CoreDNS;
- fills in the container status a kubelet with containerd reports and kwok's stage leaves out:
  ``containerID``, the resolved image (``docker.io/library/httpd:latest``), an ``imageID`` digest
  (made up: the sha256 of the resolved name, stable per image), ``started``, and the
  ``PodReadyToStartContainers`` condition.

Rules and listeners go away with the pod. ``state.json`` in the work folder lists the pods that
are plumbed, so the harness can wait for a pod without sleeping.

    python -m tests.realcluster.podnet WORKDIR KUBECONFIG      (inside the netns)
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import signal
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.images import BUSYBOX_TOOLS, DEBIAN_TOOLS, HTTPD_PAGE, NGINX_PAGE

KWOK_GROUP, KWOK_VERSION = "kwok.x-k8s.io", "v1alpha1"

ALL_TOOLS = tuple(sorted(set(BUSYBOX_TOOLS) | set(DEBIAN_TOOLS)))


@dataclass(frozen=True)
class Profile:
    name: str
    tools: frozenset[str]
    http_page: bytes | None = None
    server_header: str = ""
    dns: bool = False


PROFILES = {
    # Debian-based official images: a shell and coreutils, no wget.
    "httpd": Profile("httpd", DEBIAN_TOOLS, HTTPD_PAGE, "Apache/2.4.65 (Unix)"),
    "nginx": Profile("nginx", DEBIAN_TOOLS, NGINX_PAGE, "nginx/1.29.3"),
    "busybox": Profile("busybox", BUSYBOX_TOOLS),
    "alpine": Profile("alpine", BUSYBOX_TOOLS),
    "coredns": Profile("coredns", frozenset(), dns=True),
    # Anything else: a Debian-like image that serves nothing.
    "other": Profile("other", DEBIAN_TOOLS),
}


def image_profile(image: str) -> Profile:
    """httpd:2.4, docker.io/library/httpd@sha256:..., registry.k8s.io/coredns/coredns:v1.14.7 -> profile."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    repo = last.split(":", 1)[0].lower()
    return PROFILES.get(repo, PROFILES["other"])


def prepare_images(root: Path, busybox: str | None = None) -> Path:
    """images/<profile>/bin with each image's tools, and lookup/bin with every tool (kwok's cwd)."""
    busybox = busybox or os.environ.get("LABGRADE_BUSYBOX") or "/usr/bin/busybox"
    for prof in PROFILES.values():
        d = root / "images" / prof.name / "bin"
        d.mkdir(parents=True, exist_ok=True)
        for tool in prof.tools:
            link = d / tool
            if not link.exists():
                link.symlink_to(busybox)
    lookup = root / "lookup" / "bin"
    lookup.mkdir(parents=True, exist_ok=True)
    for tool in ALL_TOOLS:
        link = lookup / tool
        if not link.exists():
            link.symlink_to(busybox)
    return root / "lookup"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    page: bytes = b""
    server_header = ""

    def version_string(self) -> str:  # the Server: header
        return self.server_header

    def do_GET(self) -> None:
        if self.path not in ("/", "/index.html"):
            body = b"<html><body><h1>Not Found</h1></body></html>\n"
            self.send_response(404)
        else:
            body = self.page
            self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()

    def log_message(self, fmt, *args) -> None:
        sys.stderr.write("http %s %s\n" % (self.address_string(), fmt % args))


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_http(ip: str, prof: Profile) -> _Server:
    handler = type(f"H_{prof.name}", (_Handler,), {"page": prof.http_page, "server_header": prof.server_header})
    srv = _Server((ip, 80), handler)
    threading.Thread(target=srv.serve_forever, daemon=True, name=f"http-{ip}").start()
    return srv


def resolved_image(image: str) -> str:
    """What containerd reports as a container's image: registry and tag made explicit."""
    name, _, digest = image.partition("@")
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if digest:
        return f"{name}@{digest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def image_id(image: str) -> str:
    resolved = resolved_image(image)
    repo = resolved.split("@", 1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    if "@" in resolved:
        return resolved
    return f"{repo}@sha256:{hashlib.sha256(resolved.encode()).hexdigest()}"


def rule_name(uid: str) -> str:
    return "labgrade-pod-" + hashlib.sha256(uid.encode()).hexdigest()[:16]


class PodNet:
    def __init__(self, workdir: Path, kubeconfig: str) -> None:
        from kubernetes import client, config

        self.workdir = workdir
        api_client = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.plumbed: dict[str, dict] = {}  # uid -> {ns, name, ip, profile, server}
        self.state_path = workdir / "state.json"

    def _exec_rule(self, pod, prof: Profile) -> dict:
        ns, name = pod.metadata.namespace, pod.metadata.name
        image_dir = self.workdir / "images" / prof.name
        return {
            "apiVersion": f"{KWOK_GROUP}/{KWOK_VERSION}", "kind": "ClusterExec",
            "metadata": {"name": rule_name(pod.metadata.uid), "labels": {"labgrade.test/podnet": "1"},
                         "annotations": {"labgrade.test/pod": f"{ns}/{name}", "labgrade.test/image": prof.name}},
            "spec": {"selector": {"matchNamespaces": [ns], "matchNames": [name]},
                     "execs": [{"local": {"workDir": str(image_dir), "envs": [
                         {"name": "PATH", "value": str(image_dir / "bin")},
                         {"name": "HOSTNAME", "value": name},
                         {"name": "LOCALDOMAIN", "value": f"{ns}.svc.cluster.local svc.cluster.local cluster.local"},
                     ]}}]},
        }

    def _forward_rule(self, pod, prof: Profile) -> dict:
        ns, name, ip = pod.metadata.namespace, pod.metadata.name, pod.status.pod_ip
        forwards = []
        if prof.http_page is not None:
            forwards.append({"ports": [80], "target": {"address": ip, "port": 80}})
        if prof.dns:
            forwards.append({"ports": [53], "target": {"address": "127.0.0.1", "port": 53}})
        if not forwards:  # every port: nothing listens there, as in the container
            forwards.append({"target": {"address": ip, "port": 1}})
        return {
            "apiVersion": f"{KWOK_GROUP}/{KWOK_VERSION}", "kind": "ClusterPortForward",
            "metadata": {"name": rule_name(pod.metadata.uid), "labels": {"labgrade.test/podnet": "1"},
                         "annotations": {"labgrade.test/pod": f"{ns}/{name}"}},
            "spec": {"selector": {"matchNamespaces": [ns], "matchNames": [name]}, "forwards": forwards},
        }

    def _apply(self, plural: str, body: dict) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.custom.create_cluster_custom_object(KWOK_GROUP, KWOK_VERSION, plural, body)
        except ApiException as e:
            if e.status != 409:
                raise

    def _delete(self, plural: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.custom.delete_cluster_custom_object(KWOK_GROUP, KWOK_VERSION, plural, name)
        except ApiException as e:
            if e.status != 404:
                raise

    def add(self, pod) -> None:
        uid = pod.metadata.uid
        ip = pod.status.pod_ip
        image = pod.spec.containers[0].image if pod.spec.containers else ""
        prof = image_profile(image or "")
        cur = self.plumbed.get(uid)
        if cur and cur["ip"] == ip:
            return
        if cur:
            self.remove(uid)
        server = None
        if prof.http_page is not None:
            try:
                server = serve_http(ip, prof)
            except OSError as e:
                print(f"podnet: cannot listen on {ip}:80 for {pod.metadata.namespace}/{pod.metadata.name}: {e}",
                      file=sys.stderr, flush=True)
                return
        self._kubelet_status(pod)
        self._apply("clusterexecs", self._exec_rule(pod, prof))
        self._apply("clusterportforwards", self._forward_rule(pod, prof))
        self.plumbed[uid] = {"ns": pod.metadata.namespace, "name": pod.metadata.name, "ip": ip,
                             "profile": prof.name, "server": server}
        print(f"podnet: {pod.metadata.namespace}/{pod.metadata.name} {ip} image={image} profile={prof.name}",
              file=sys.stderr, flush=True)

    def _kubelet_status(self, pod) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        ns, name = pod.metadata.namespace, pod.metadata.name
        for _ in range(10):
            try:
                cur = self.core.read_namespaced_pod(name, ns)
            except ApiException as e:
                if e.status == 404:
                    return
                raise
            statuses = (cur.status and cur.status.container_statuses) or []
            if not statuses or all(cs.container_id for cs in statuses):
                return
            for cs in statuses:
                seed = f"{cur.metadata.uid}/{cs.name}"
                cs.container_id = "containerd://" + hashlib.sha256(seed.encode()).hexdigest()
                spec_image = cs.image or ""
                cs.image = resolved_image(spec_image)
                cs.image_id = image_id(spec_image)
                cs.started = True
            conds = list(cur.status.conditions or [])
            if not any(c.type == "PodReadyToStartContainers" for c in conds):
                at = next((c.last_transition_time for c in conds if c.type == "Initialized"), None)
                conds.insert(0, client.V1PodCondition(type="PodReadyToStartContainers", status="True",
                                                      last_transition_time=at))
            cur.status.conditions = conds
            try:
                self.core.replace_namespaced_pod_status(name, ns, cur)
                return
            except ApiException as e:
                if e.status == 404:
                    return
                if e.status != 409:
                    raise
        print(f"podnet: could not write the container status of {ns}/{name}", file=sys.stderr, flush=True)

    def remove(self, uid: str) -> None:
        cur = self.plumbed.pop(uid, None)
        if not cur:
            return
        if cur["server"] is not None:
            cur["server"].shutdown()
            cur["server"].server_close()
        self._delete("clusterexecs", rule_name(uid))
        self._delete("clusterportforwards", rule_name(uid))
        print(f"podnet: gone {cur['ns']}/{cur['name']} {cur['ip']}", file=sys.stderr, flush=True)

    def write_state(self) -> None:
        state = {f"{v['ns']}/{v['name']}": {"uid": k, "ip": v["ip"], "profile": v["profile"]}
                 for k, v in self.plumbed.items()}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(tmp, self.state_path)

    def sync(self, pod) -> None:
        want = (pod.status is not None and pod.status.phase == "Running" and pod.status.pod_ip
                and pod.metadata.deletion_timestamp is None)
        if want:
            self.add(pod)
        else:
            self.remove(pod.metadata.uid)

    def run(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        while True:
            try:
                pods = self.core.list_pod_for_all_namespaces()
                seen = set()
                for pod in pods.items:
                    seen.add(pod.metadata.uid)
                    self.sync(pod)
                for uid in list(self.plumbed):
                    if uid not in seen:
                        self.remove(uid)
                self.write_state()
                rv = pods.metadata.resource_version
                w = watch.Watch()
                for ev in w.stream(self.core.list_pod_for_all_namespaces, resource_version=rv, timeout_seconds=60,
                                   allow_watch_bookmarks=False):
                    pod = ev["object"]
                    if ev["type"] == "DELETED":
                        self.remove(pod.metadata.uid)
                    else:
                        self.sync(pod)
                    self.write_state()
            except (ApiException, OSError, ValueError) as e:  # relist after any hiccup (410 Gone, restarts)
                print(f"podnet: relisting after {type(e).__name__}: {str(e)[:200]}", file=sys.stderr, flush=True)
                time.sleep(0.2)
            except Exception as e:  # noqa: BLE001 - keep the node's "runtime" alive, say why
                print(f"podnet: relisting after {type(e).__name__}: {str(e)[:200]}", file=sys.stderr, flush=True)
                time.sleep(0.2)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    workdir = Path(argv[0])
    PodNet(workdir, argv[1]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
