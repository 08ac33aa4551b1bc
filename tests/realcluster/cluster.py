"""A real Kubernetes control plane on fake nodes, in a network namespace of its own.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (the fake nodes and their
kubelet endpoint: exec and port-forward), CoreDNS and ``podnet`` (listeners and exec rules that
stand for the containers) all run inside a netns the harness creates (``ip netns add``) and
removes on ``down``. In it, ``lo`` carries 127.0.0.1, the API server's advertise address
10.250.0.2, the kube-dns ClusterIP 10.96.0.10 and, as a local route, the whole pod range
10.244.0.0/16. ``/etc/netns/<name>/resolv.conf`` (bind-mounted by ``ip netns exec``) points the
resolver at CoreDNS. Nothing is sent to any other address.

The test process stays in the host namespace and reaches the API server through two relays and a
Unix socket (see relay.py) at ``https://127.0.0.1:<port>``: :attr:`Cluster.kubeconfig`. Commands
that must see the cluster's addresses run through :meth:`Cluster.netns_run`.

Every process is started in its own session and killed by process group on :meth:`down`; their
logs stay in ``<workdir>/logs``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.realcluster import build

REPO = Path(__file__).resolve().parents[2]
ADVERTISE_IP = "10.250.0.2"
DNS_IP = "10.96.0.10"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
API_PORT = 6443
KWOK_PORT = 10250
NODES = ("kwok-node-0", "kwok-node-1")
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.14.7"
GRADER_USER = "labgrade-grader"
SA_USER = "system:serviceaccount:labgrade:labgrade"
STATE_ROOT = Path(os.environ.get("LABGRADE_REALCLUSTER_STATE") or (Path(tempfile.gettempdir()) / "labgrade-realcluster"))


class ClusterError(RuntimeError):
    pass


def _ip() -> str:
    return shutil.which("ip") or "/usr/sbin/ip"


def kwok_module_dir() -> Path:
    return build.go_env_path("GOMODCACHE") / f"sigs.k8s.io/kwok@{build.KWOK_VERSION}"


class Cluster:
    def __init__(self, workdir: Path | None = None, name: str | None = None) -> None:
        self.name = name or f"lgrc-{os.getpid()}-{secrets.token_hex(2)}"
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"{self.name}-", dir=_tmp_root()))
        self.logs = self.workdir / "logs"
        self.pki = self.workdir / "pki"
        self.kubeconfig = self.workdir / "kubeconfig"  # host side, through the relay
        self.grader_kubeconfig = self.workdir / "kubeconfig.grader"  # host side, audited identity
        self.audit_log = self.workdir / "logs" / "audit.jsonl"
        self.netns_kubeconfig = self.workdir / "kubeconfig.netns"  # inside the netns
        self.procs: list[tuple[str, int]] = []
        self._popen: dict[int, subprocess.Popen] = {}
        self.bins: dict[str, Path] = {}
        self.api_port: int | None = None
        self.netns_ready = False
        self.timings: dict[str, float] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def up(self, timeout: float = 120.0) -> "Cluster":
        t0 = time.monotonic()
        deadline = t0 + timeout
        self.bins = build.binaries()
        sweep_stale()
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._netns()
            self._make_pki()
            self._start_etcd()
            self._start_relays()
            self._start_apiserver()
            self._wait("kube-apiserver", deadline, self._api_ready)
            self.timings["apiserver"] = time.monotonic() - t0
            self.kubectl("apply", "--server-side", "-f", str(kwok_module_dir() / "kustomize/crd/bases/kwok.x-k8s.io_clusterexecs.yaml"),
                         "-f", str(kwok_module_dir() / "kustomize/crd/bases/kwok.x-k8s.io_clusterportforwards.yaml"))
            self._start_controllers()
            self._start_kwok()
            self._create_nodes()
            self._start_coredns()
            self._start_podnet()
            self._wait("kwok", deadline, self._nodes_ready)
            self._wait("kube-controller-manager", deadline, lambda: self._sa_exists("default"))
            self._wait("kube-controller-manager", deadline, lambda: self._sa_exists("kube-system"))
            self._create_dns_objects()
            self._wait("podnet", deadline, lambda: len(self.plumbed("kube-system")) >= 2)
            self._wait("coredns", deadline, self._dns_answers)
        except BaseException:
            self.save()
            raise
        self.timings["up"] = time.monotonic() - t0
        self.save()
        return self

    def down(self) -> None:
        for name, pid in reversed(self.procs):
            _kill_group(pid, self._popen.get(pid))
        self.procs.clear()
        shutil.rmtree(self.workdir / "etcd", ignore_errors=True)  # etcd preallocates its WAL; the logs stay
        if self.netns_ready or (Path("/var/run/netns") / self.name).exists():
            subprocess.run([_ip(), "netns", "del", self.name], capture_output=True)
            self.netns_ready = False
        shutil.rmtree(Path("/etc/netns") / self.name, ignore_errors=True)
        state = STATE_ROOT / "current.json"
        try:
            if json.loads(state.read_text()).get("name") == self.name:
                state.unlink()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> "Cluster":
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()

    def save(self) -> None:
        (self.workdir / "cluster.json").write_text(json.dumps(self.describe(), indent=1))

    def describe(self) -> dict:
        return {"name": self.name, "workdir": str(self.workdir), "procs": self.procs,
                "kubeconfig": str(self.kubeconfig), "netns_kubeconfig": str(self.netns_kubeconfig),
                "api_port": self.api_port}

    @classmethod
    def attach(cls, info: dict) -> "Cluster":
        c = cls(Path(info["workdir"]), info["name"])
        c.procs = [tuple(p) for p in info["procs"]]
        c.api_port = info.get("api_port")
        c.netns_ready = True
        c.bins = {comp.name: comp.path for comp in build.COMPONENTS}
        c.bins["busybox"] = build.busybox_path()
        return c

    # -- running things --------------------------------------------------------------------

    def netns_argv(self, argv: list[str]) -> list[str]:
        return [_ip(), "netns", "exec", self.name, *argv]

    def netns_env(self, extra: dict | None = None) -> dict:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.netns_kubeconfig)
        env.setdefault("PYTHONPATH", str(REPO))
        env.update(extra or {})
        return env

    def netns_run(self, argv: list[str], timeout: float = 120, check: bool = False, **kw) -> subprocess.CompletedProcess:
        """Run argv inside the cluster's netns with KUBECONFIG set (its addresses are reachable there)."""
        return subprocess.run(self.netns_argv(argv), env=self.netns_env(kw.pop("env", None)), capture_output=True,
                              text=True, timeout=timeout, check=check, **kw)

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60, check: bool = True,
                kubeconfig: Path | str | None = None) -> subprocess.CompletedProcess:
        """Run the built kubectl from the host against the cluster (through the relay)."""
        cmd = [str(self.bins["kubectl"]), "--kubeconfig", str(kubeconfig or self.kubeconfig), *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return proc

    def kubectl_json(self, *args: str, **kw) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json", **kw).stdout)

    def plumbed(self, namespace: str | None = None) -> dict:
        """Pods that podnet has given a network and exec rules: {"ns/name": {ip, profile, uid}}."""
        try:
            state = json.loads((self.workdir / "podnet" / "state.json").read_text())
        except (OSError, ValueError):
            return {}
        if namespace is None:
            return state
        return {k: v for k, v in state.items() if k.split("/", 1)[0] == namespace}

    def wait_plumbed(self, namespace: str, pods: list[str] | None = None, count: int | None = None,
                     timeout: float = 60) -> dict:
        """Wait until the named pods (or ``count`` pods) of ``namespace`` are plumbed, matching their live uids."""
        deadline = time.monotonic() + timeout
        while True:
            live = {p["metadata"]["name"]: p for p in
                    self.kubectl_json("get", "pods", "-n", namespace)["items"]
                    if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")}
            state = self.plumbed(namespace)
            ok = {n for n, p in live.items()
                  if state.get(f"{namespace}/{n}", {}).get("uid") == p["metadata"]["uid"]}
            want = set(pods) if pods is not None else None
            if (want is not None and want <= ok) or (want is None and count is not None and len(ok) >= count):
                return {n: live[n] for n in ok}
            if time.monotonic() > deadline:
                raise ClusterError(f"pods of {namespace} not running+plumbed after {timeout}s: want {want or count}, "
                                   f"ready {sorted(ok)}; see {self.logs / 'podnet.log'}")
            time.sleep(0.1)

    def new_namespace(self, name: str, timeout: float = 30) -> str:
        self.kubectl("create", "namespace", name)
        self.wait_for(lambda: self._sa_exists(name), timeout, f"default ServiceAccount in {name}")
        return name

    def wait_for(self, cond, timeout: float, what: str, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = cond()
            if value:
                return value
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    def audit_events(self, user: str = GRADER_USER) -> list[dict]:
        """Requests the audited identities made, one per request (the audit ID), in order."""
        seen: dict[str, dict] = {}
        try:
            lines = self.audit_log.read_text().splitlines()
        except OSError:
            return []
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("user", {}).get("username") == user:
                seen.setdefault(ev["auditID"], ev)
        return list(seen.values())

    # -- pieces ----------------------------------------------------------------------------

    def _netns(self) -> None:
        ns = self.name
        run = lambda *a: _check([_ip(), *a])  # noqa: E731
        run("netns", "add", ns)
        self.netns_ready = True
        run("-n", ns, "link", "set", "lo", "up")
        run("-n", ns, "addr", "add", f"{ADVERTISE_IP}/32", "dev", "lo")
        run("-n", ns, "addr", "add", f"{DNS_IP}/32", "dev", "lo")
        run("-n", ns, "route", "add", "local", POD_CIDR, "dev", "lo")
        etc = Path("/etc/netns") / ns
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(
            f"nameserver {DNS_IP}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")
        (etc / "hosts").write_text("127.0.0.1\tlocalhost\n")

    def _make_pki(self) -> None:
        p = self.pki
        p.mkdir(parents=True, exist_ok=True)

        def ossl(*a):
            _check(["openssl", *a], cwd=p)

        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
             "-subj", "/CN=labgrade-realcluster-ca")
        sans = ",".join([f"IP:{ADVERTISE_IP}", "IP:127.0.0.1", "IP:10.96.0.1", "DNS:localhost", "DNS:kubernetes",
                         "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                         "DNS:kubernetes.default.svc.cluster.local", *(f"DNS:{n}" for n in NODES)])
        certs = {
            "apiserver": ("/CN=kube-apiserver", f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n"),
            "admin": ("/O=system:masters/CN=kubernetes-admin", "extendedKeyUsage=clientAuth\n"),
            # A separate identity for grading runs, so the audit log counts their requests alone.
            "grader": (f"/O=system:masters/CN={GRADER_USER}", "extendedKeyUsage=clientAuth\n"),
        }
        for name, (subj, ext) in certs.items():
            (p / f"{name}.ext").write_text(ext)
            ossl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj)
            ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "3650", "-extfile", f"{name}.ext")
        ossl("genrsa", "-out", "sa.key", "2048")
        ossl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")

    def write_kubeconfig(self, path: Path, server: str, user: dict, ns: str | None = None) -> Path:
        ctx = {"cluster": "realcluster", "user": "user"}
        if ns:
            ctx["namespace"] = ns
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": "realcluster",
            "clusters": [{"name": "realcluster", "cluster": {"server": server,
                                                              "certificate-authority": str(self.pki / "ca.crt")}}],
            "users": [{"name": "user", "user": user}],
            "contexts": [{"name": "realcluster", "context": ctx}],
        }
        path.write_text(json.dumps(cfg, indent=1))
        return path

    @property
    def admin_user(self) -> dict:
        return {"client-certificate": str(self.pki / "admin.crt"), "client-key": str(self.pki / "admin.key")}

    def _spawn(self, name: str, argv: list[str], netns: bool = True, env: dict | None = None,
               cwd: Path | None = None) -> int:
        log = open(self.logs / f"{name}.log", "ab")
        full = self.netns_argv(argv) if netns else argv
        proc = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env or dict(os.environ), cwd=cwd or self.workdir)
        log.close()
        self.procs.append((name, proc.pid))
        self._popen[proc.pid] = proc
        self.save()
        return proc.pid

    def _start_etcd(self) -> None:
        data = self.workdir / "etcd"
        self._spawn("etcd", [str(self.bins["etcd"]), "--name", "default", "--data-dir", str(data),
                             "--listen-client-urls", "http://127.0.0.1:2379",
                             "--advertise-client-urls", "http://127.0.0.1:2379",
                             "--listen-peer-urls", "http://127.0.0.1:2380",
                             "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                             "--initial-cluster", "default=http://127.0.0.1:2380",
                             "--listen-metrics-urls", "http://127.0.0.1:2381",
                             "--unsafe-no-fsync", "--quota-backend-bytes", str(2 << 30), "--log-level", "warn"])

    def _start_relays(self) -> None:
        sock = self.workdir / "apiserver.sock"
        portfile = self.workdir / "apiserver.port"
        py = [sys.executable, "-m", "tests.realcluster.relay"]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self._spawn("relay-netns", [*py, "unix-to-tcp", str(sock), "127.0.0.1", str(API_PORT)], env=env, cwd=REPO)
        self._spawn("relay-host", [*py, "tcp-to-unix", str(portfile), str(sock)], netns=False, env=env, cwd=REPO)
        self.wait_for(portfile.exists, 20, "the host relay's port")
        self.api_port = int(portfile.read_text())
        self.write_kubeconfig(self.kubeconfig, f"https://127.0.0.1:{self.api_port}", self.admin_user)
        self.write_kubeconfig(self.netns_kubeconfig, f"https://{ADVERTISE_IP}:{API_PORT}", self.admin_user)
        self.write_kubeconfig(self.grader_kubeconfig, f"https://127.0.0.1:{self.api_port}",
                              {"client-certificate": str(self.pki / "grader.crt"),
                               "client-key": str(self.pki / "grader.key")})

    def _start_apiserver(self) -> None:
        p = self.pki
        policy = self.workdir / "audit-policy.json"
        policy.write_text(json.dumps({
            "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
            "rules": [{"level": "Metadata", "users": [GRADER_USER, SA_USER]}, {"level": "None"}]}))
        self._spawn("kube-apiserver", [
            str(self.bins["kube-apiserver"]),
            "--etcd-servers=http://127.0.0.1:2379",
            f"--advertise-address={ADVERTISE_IP}", "--bind-address=0.0.0.0", f"--secure-port={API_PORT}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--tls-cert-file={p / 'apiserver.crt'}", f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--kubelet-client-certificate={p / 'admin.crt'}", f"--kubelet-client-key={p / 'admin.key'}",
            "--kubelet-preferred-address-types=InternalIP",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={p / 'sa.pub'}", f"--service-account-signing-key-file={p / 'sa.key'}",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=lease",
            "--profiling=false",
            f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}", "--audit-log-format=json",
            "--audit-log-mode=blocking",
            "--v=1",
        ])

    def _start_controllers(self) -> None:
        kc = str(self.netns_kubeconfig)
        self._spawn("kube-controller-manager", [
            str(self.bins["kube-controller-manager"]), f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1", "--leader-elect=false", "--controllers=*",
            f"--service-account-private-key-file={self.pki / 'sa.key'}",
            f"--root-ca-file={self.pki / 'ca.crt'}", "--use-service-account-credentials=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--v=1",
        ])
        self._spawn("kube-scheduler", [
            str(self.bins["kube-scheduler"]), f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1", "--leader-elect=false", "--v=1",
        ])

    def _start_kwok(self) -> None:
        stages = kwok_module_dir() / "kustomize/stage"
        docs = [stages / "node/fast/node-initialize.yaml", stages / "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
                stages / "pod/fast/pod-ready.yaml", stages / "pod/fast/pod-complete.yaml", stages / "pod/fast/pod-delete.yaml"]
        config = self.workdir / "kwok.yaml"
        config.write_text("\n---\n".join(d.read_text() for d in docs))
        home = self.workdir / "kwok-home"
        home.mkdir(exist_ok=True)
        from tests.realcluster import podnet
        lookup = podnet.prepare_images(self.workdir / "podnet", str(self.bins["busybox"]))
        env = dict(os.environ, HOME=str(home), PATH="bin", GODEBUG="execerrdot=0")
        self._spawn("kwok", [
            str(self.bins["kwok"]), f"--config={config}", f"--kubeconfig={self.netns_kubeconfig}",
            "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={POD_CIDR}", f"--node-ip={ADVERTISE_IP}", f"--node-port={KWOK_PORT}",
            f"--server-address=0.0.0.0:{KWOK_PORT}",
            f"--tls-cert-file={self.pki / 'apiserver.crt'}", f"--tls-private-key-file={self.pki / 'apiserver.key'}",
            "--node-lease-duration-seconds=40",
            "--enable-crds=ClusterExec,ClusterPortForward",
        ], env=env, cwd=lookup)

    def _create_nodes(self) -> None:
        for n in NODES:
            self.kubectl("apply", "-f", "-", input=json.dumps({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": n, "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
                             "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
                                        "kubernetes.io/hostname": n, "type": "kwok"}},
            }))

    def _start_coredns(self) -> None:
        corefile = self.workdir / "Corefile"
        corefile.write_text(f""".:53 {{
    bind {DNS_IP} 127.0.0.1
    errors
    log
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {self.netns_kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    loadbalance
}}
""")
        self._spawn("coredns", [str(self.bins["coredns"]), "-conf", str(corefile)])

    def _start_podnet(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self._spawn("podnet", [sys.executable, "-m", "tests.realcluster.podnet", str(self.workdir / "podnet"),
                               str(self.netns_kubeconfig)], env=env, cwd=REPO)

    def _create_dns_objects(self) -> None:
        labels = {"k8s-app": "kube-dns"}
        objs = [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": "kube-system"}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
             "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                      "template": {"metadata": {"labels": labels},
                                   "spec": {"serviceAccountName": "coredns", "priorityClassName": "system-cluster-critical",
                                            "containers": [{"name": "coredns", "image": COREDNS_IMAGE,
                                                            "args": ["-conf", "/etc/coredns/Corefile"],
                                                            "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                                                      {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                                                      {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]}]}}}},
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": "kube-dns", "namespace": "kube-system",
                          "labels": {**labels, "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}},
             "spec": {"clusterIP": DNS_IP, "selector": labels,
                      "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}},
        ]
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))

    # -- readiness -------------------------------------------------------------------------

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return ctx

    def api_get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        req = urllib.request.Request(f"https://127.0.0.1:{self.api_port}{path}")
        try:
            with urllib.request.urlopen(req, context=self._ssl(), timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def _api_ready(self) -> bool:
        try:
            status, _ = self.api_get("/readyz", timeout=2)
        except (OSError, ssl.SSLError):
            return False
        return status == 200

    def _nodes_ready(self) -> bool:
        nodes = self.kubectl_json("get", "nodes")["items"]
        ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True"
                                         for c in n.get("status", {}).get("conditions", []))]
        return len(ready) == len(NODES)

    def _sa_exists(self, ns: str) -> bool:
        return self.kubectl("get", "serviceaccount", "default", "-n", ns, check=False).returncode == 0

    def _dns_answers(self) -> bool:
        r = self.netns_run([str(self.bins["busybox"]), "nslookup", "kubernetes.default.svc.cluster.local", DNS_IP], timeout=10)
        return r.returncode == 0 and "10.96.0.1" in r.stdout

    def _wait(self, component: str, deadline: float, cond) -> None:
        while True:
            for name, pid in self.procs:
                proc = self._popen.get(pid)
                if proc is not None and proc.poll() is not None:
                    raise ClusterError(f"{name} exited ({proc.returncode}) while starting the cluster; "
                                       f"read {self.logs / (name + '.log')}:\n{_tail(self.logs / (name + '.log'))}")
            try:
                if cond():
                    return
            except (ClusterError, OSError, ValueError, subprocess.TimeoutExpired):
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"cluster not up in time: waiting for {component}; "
                                   f"read {self.logs / (component + '.log')}:\n{_tail(self.logs / (component + '.log'))}")
            time.sleep(0.1)


def sweep_stale() -> list[str]:
    """Take down clusters whose owner died without ``down`` (a killed test run): their netns and the
    processes they recorded, only those whose command line still points into their own folder."""
    swept = []
    for info_path in STATE_ROOT.glob("lgrc-*/cluster.json"):
        try:
            info = json.loads(info_path.read_text())
            owner = int(info["name"].split("-")[1])
        except (OSError, ValueError, KeyError, IndexError):
            continue
        if _alive(owner):
            continue
        if not (Path("/var/run/netns") / info["name"]).exists():
            shutil.rmtree(Path(info["workdir"]) / "etcd", ignore_errors=True)  # a dead cluster's data; logs stay
            continue
        if (STATE_ROOT / "current.json").exists():
            try:
                if json.loads((STATE_ROOT / "current.json").read_text()).get("name") == info["name"]:
                    continue  # the CLI's cluster: its `up` process has exited on purpose
            except (OSError, ValueError):
                pass
        c = Cluster.attach(info)
        c.procs = [(n, pid) for n, pid in c.procs if _cmdline_mentions(pid, info["workdir"])]
        c.down()
        swept.append(info["name"])
    return swept


def _cmdline_mentions(pid: int, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _check(argv: list[str], **kw) -> None:
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed: {r.stderr.strip()[-1000:]}")


def _tmp_root() -> Path:
    STATE_ROOT.mkdir(parents=True, exist_ok=True)
    return STATE_ROOT


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _kill_group(pid: int, proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    """SIGTERM the process group, wait for its leader, then SIGKILL whatever is left of the group."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                break
        elif not _alive(pid):
            break
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc is not None:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
