"""What a command run with ``pods/exec`` prints, and how its failure is worded.

A test scripts exec results with an ``exec_handler(namespace, pod,
container, argv) -> ExecReply``.  The default handler, :class:`PodShell`,
emulates what the lab's commands do in real images: busybox ``wget`` fetching
a Service or pod by DNS name through the stand-in's own CoreDNS and
kube-proxy model, ``sh -c`` with ``&&``/``||``/``;``, ``exit N``, ``echo``,
``cat /etc/resolv.conf``.  It knows which images ship which tools, because
"httpd has no wget" is the commonest reason a student's step 5 fails:

- running a binary the image lacks directly fails in the container runtime
  (containerd + runc wording), which the kubelet reports as an InternalError
  Status rather than an exit code;
- running it through ``sh -c`` is an ordinary exit 127 from the shell.
"""
from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from tests.images import BUSYBOX_TOOLS, DEBIAN_TOOLS, HTTPD_PAGE, NGINX_PAGE
from tests.standin.coredns import DnsModel
from tests.standin.netmodel import ClusterNetwork, image_repo, image_tag

Obj = dict[str, Any]


@dataclass(frozen=True)
class ExecReply:
    """The scripted outcome of one exec.

    - ``exit_code``: 0 is a Success status, anything else a NonZeroExitCode
      Failure worded per protocol; None with no ``status``/``runtime_error``
      closes the stream without any status (a broken session).
    - ``runtime_error``: the container runtime refused to start the process
      (see :meth:`not_found`); the kubelet wraps it into an InternalError.
    - ``status``: a raw channel-3 Status dict, sent as-is (overrides the above).
    - ``hang``: never finish (until the client goes away); ``delay``: seconds
      to wait before any output.
    """

    stdout: bytes | str = b""
    stderr: bytes | str = b""
    exit_code: int | None = 0
    status: dict | None = None
    runtime_error: str | None = None
    hang: bool = False
    delay: float = 0.0

    def __post_init__(self) -> None:
        for name in ("stdout", "stderr"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, value.encode())

    @classmethod
    def not_found(cls, binary: str, exec_id: str | None = None) -> "ExecReply":
        """The runtime cannot find ``binary`` in the container (no shell involved)."""
        return cls(exit_code=None, runtime_error=containerd_not_found(binary, exec_id or fake_exec_id(binary)))


class ExecHandler(Protocol):
    def __call__(self, namespace: str, pod: str, container: str, argv: list[str]) -> ExecReply: ...


def fake_exec_id(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def containerd_not_found(binary: str, exec_id: str) -> str:
    """containerd 1.7 + runc 1.1 wording for a missing executable."""
    if "/" in binary:
        cause = f'exec: "{binary}": stat {binary}: no such file or directory'
    else:
        cause = f'exec: "{binary}": executable file not found in $PATH'
    return (f'failed to exec in container: failed to start exec "{exec_id}": OCI runtime exec failed: '
            f"exec failed: unable to start container process: {cause}: unknown")


# Images and their tools -----------------------------------------------------


@dataclass(frozen=True)
class ImageProfile:
    tools: frozenset[str]
    shell: str  # "ash" (busybox) | "dash" (debian) | "" (no shell)
    http_page: bytes | None  # what it serves on port 80, if anything


def image_profile(image: str) -> ImageProfile:
    """What an image can run and serve.  Unknown images: a debian base without wget."""
    repo, tag = image_repo(image), image_tag(image)
    alpine = "alpine" in tag or repo == "alpine"
    if repo == "busybox" or alpine and repo not in ("httpd", "nginx"):
        return ImageProfile(BUSYBOX_TOOLS, "ash", None)
    if repo == "httpd":
        # The alpine variant has busybox (with wget); the default (debian) has no wget.
        return ImageProfile(BUSYBOX_TOOLS if alpine else DEBIAN_TOOLS, "ash" if alpine else "dash", HTTPD_PAGE)
    if repo == "nginx":
        return ImageProfile(BUSYBOX_TOOLS if alpine else DEBIAN_TOOLS, "ash" if alpine else "dash", NGINX_PAGE)
    if repo in ("pause", "distroless", "static", "base") or "distroless" in image:
        return ImageProfile(frozenset(), "", None)
    return ImageProfile(DEBIAN_TOOLS, "dash", None)


def container_image(pod: Obj, container: str) -> str:
    for c in (pod.get("spec") or {}).get("containers") or []:
        if c.get("name") == container:
            return c.get("image", "")
    return ""


# The default handler ------------------------------------------------------------


class PodShell:
    """Default exec handler: runs a few commands against the stand-in's cluster model.

    ``world`` returns the current (network, dns) pair, so a handler made once
    follows :meth:`StandIn.set_objects`.  ``time_scale`` multiplies the
    seconds a command would really take (a wget timeout); 0 keeps tests fast.
    """

    def __init__(self, world: Callable[[], tuple[ClusterNetwork, DnsModel]], time_scale: float = 0.0):
        self._world = world
        self.time_scale = time_scale

    def __call__(self, namespace: str, pod: str, container: str, argv: list[str]) -> ExecReply:
        network, dns = self._world()
        pod_obj = network.pod(namespace, pod) or {"metadata": {"name": pod, "namespace": namespace}}
        profile = image_profile(container_image(pod_obj, container))
        if not argv:
            return ExecReply.not_found("")
        binary = argv[0].rsplit("/", 1)[-1]
        if binary not in profile.tools:
            return ExecReply.not_found(argv[0], fake_exec_id(namespace, pod, container, argv))
        run = _Run(self, network, dns, pod_obj, profile)
        out, err, code, delay = run.command(argv)
        return ExecReply(stdout=out, stderr=err, exit_code=code, delay=delay)


class _Run:
    """One exec: a tiny shell and the tools it can call."""

    def __init__(self, shell: PodShell, network: ClusterNetwork, dns: DnsModel, pod: Obj, profile: ImageProfile):
        self.shell, self.network, self.dns, self.pod, self.profile = shell, network, dns, pod, profile
        self.namespace = pod["metadata"].get("namespace", "default")

    def command(self, argv: list[str]) -> tuple[bytes, bytes, int, float]:
        name = argv[0].rsplit("/", 1)[-1]
        if name not in self.profile.tools:
            return b"", self._shell_not_found(name), 127, 0.0
        if name in ("sh", "ash", "dash", "bash"):
            if len(argv) >= 3 and argv[1] == "-c":
                return self.script(argv[2])
            return b"", f"standin: {name} without -c is not emulated\n".encode(), 2, 0.0
        if name == "wget":
            return self.wget(argv[1:])
        if name == "echo":
            return (" ".join(argv[1:]) + "\n").encode(), b"", 0, 0.0
        if name in ("true", "false"):
            return b"", b"", int(name == "false"), 0.0
        if name == "hostname":
            spec = self.pod.get("spec") or {}
            return (spec.get("hostname") or self.pod["metadata"]["name"]).encode() + b"\n", b"", 0, 0.0
        if name == "cat":
            return self.cat(argv[1:])
        return b"", f"standin: {name} is in the image but not emulated; script it with exec_handler\n".encode(), 126, 0.0

    def _shell_not_found(self, name: str) -> bytes:
        if self.profile.shell == "dash":
            return f"sh: 1: {name}: not found\n".encode()
        return f"sh: {name}: not found\n".encode()

    # sh -c --------------------------------------------------------------------

    def script(self, text: str) -> tuple[bytes, bytes, int, float]:
        """Run ``a && b || c; d`` of simple commands, with ``2>&1`` and ``>/dev/null``."""
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|>")
        lexer.whitespace_split = True
        tokens = list(lexer)
        out, err, code, delay = b"", b"", 0, 0.0
        op, cmd = ";", []
        for tok in tokens + [";"]:
            if tok in (";", "&&", "||"):
                if cmd:
                    run = op == ";" or (op == "&&" and code == 0) or (op == "||" and code != 0)
                    if run:
                        if cmd[0] == "exit":
                            return out, err, int(cmd[1]) if len(cmd) > 1 else code, delay
                        o, e, code, d = self._redirected(cmd)
                        out, err, delay = out + o, err + e, delay + d
                op, cmd = tok, []
            elif tok in ("|", "&", "|&"):
                return out, err + b"standin: pipes and background jobs are not emulated\n", 2, delay
            else:
                cmd.append(tok)
        return out, err, code, delay

    def _redirected(self, cmd: list[str]) -> tuple[bytes, bytes, int, float]:
        """One simple command with ``2>&1``, ``>&2``, ``>/dev/null`` or ``2>/dev/null``."""
        words: list[str] = []
        merge = to_err = drop_out = drop_err = False
        tokens = iter(cmd)
        for tok in tokens:
            if tok not in (">", ">>", ">&"):
                words.append(tok)
                continue
            fd = words.pop() if words and words[-1] in ("1", "2") else "1"
            target = next(tokens, "")
            if tok == ">&" and fd == "2" and target == "1":
                merge = True
            elif tok == ">&" and fd == "1" and target == "2":
                to_err = True  # `echo err >&2`: a real shell writes it to stderr (found against the real cluster)
            elif fd == "2":
                drop_err = True
            else:
                drop_out = True
        out, err, code, delay = self.command(words) if words else (b"", b"", 0, 0.0)
        if merge:
            out, err = out + err, b""
        if to_err:
            out, err = b"", err + out
        return (b"" if drop_out else out), (b"" if drop_err else err), code, delay

    # Tools ---------------------------------------------------------------------

    def cat(self, paths: list[str]) -> tuple[bytes, bytes, int, float]:
        out, err, code = b"", b"", 0
        for path in paths:
            if path == "/etc/resolv.conf":
                out += self.dns.resolv_conf(self.namespace).encode()
            elif path == "/etc/hostname":
                out += self.pod["metadata"]["name"].encode() + b"\n"
            else:
                err += f"cat: can't open '{path}': No such file or directory\n".encode()
                code = 1
        return out, err, code, 0.0

    def wget(self, args: list[str]) -> tuple[bytes, bytes, int, float]:
        """busybox 1.36 wget: the options a lab uses, its messages, exit 1 on any failure."""
        opts = _parse_wget(args)
        if isinstance(opts, bytes):
            return b"", opts, 1, 0.0
        quiet, output, timeout, spider, url = opts
        m = re.match(r"^(?:(https?)://)?([^/:]+|\[[^\]]+\])(?::(\d+))?(/.*)?$", url)
        if not m:
            return b"", f"wget: bad address '{url}'\n".encode(), 1, 0.0
        scheme, host, port_text, path = m.group(1) or "http", m.group(2), m.group(3), m.group(4) or "/"
        port = int(port_text) if port_text else (443 if scheme == "https" else 80)
        ips = self.dns.resolve_from_pod(host.strip("[]"), self.namespace)
        if not ips:
            return b"", f"wget: bad address '{host}'\n".encode(), 1, 0.0
        ip = ips[0]
        host_shown = f"{host}:{port_text}" if port_text else host
        chatter = b"" if quiet else f"Connecting to {host_shown} ({ip}:{port})\n".encode()
        route = self.network.route(ip, port)
        if route.outcome == "timeout":
            return b"", chatter + b"wget: download timed out\n", 1, timeout * self.shell.time_scale
        page = None
        if route.outcome == "connected" and route.pod is not None and route.port == 80:
            for c in (route.pod.get("spec") or {}).get("containers") or []:
                page = page or image_profile(c.get("image", "")).http_page
        if page is None or scheme == "https":
            return b"", chatter + f"wget: can't connect to remote host ({ip}): Connection refused\n".encode(), 1, 0.0
        if path not in ("/", "/index.html"):
            return b"", chatter + b"wget: server returned error: HTTP/1.1 404 Not Found\n", 1, 0.0
        if spider:
            return b"", chatter + (b"" if quiet else b"remote file exists\n"), 0, 0.0
        name = "-" if output == "-" else (output or "index.html")
        if not quiet:
            chatter += (b"writing to stdout\n" if name == "-" else f"saving to '{name}'\n".encode())
            chatter += f"{name:<20} 100% |{'*' * 31}| {len(page):>5}  0:00:00 ETA\n".encode()
            chatter += (b"written to stdout\n" if name == "-" else f"'{name}' saved\n".encode())
        return (page if name == "-" else b""), chatter, 0, 0.0


def _parse_wget(args: list[str]) -> tuple[bool, str | None, float, bool, str] | bytes:
    quiet, output, timeout, spider, urls = False, None, 900.0, False, []
    with_value = {"O": "output", "o": "log", "T": "timeout", "U": "agent", "Y": "proxy", "P": "prefix", "e": "exec"}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            if key in ("quiet",):
                quiet = True
            elif key == "spider":
                spider = True
            elif key in ("output-document", "timeout", "user-agent", "header", "proxy"):
                if not value:
                    if i >= len(args):
                        return f"wget: option '--{key}' requires an argument\n".encode()
                    value, i = args[i], i + 1
                if key == "output-document":
                    output = value
                elif key == "timeout":
                    timeout = float(value)
            elif key in ("no-check-certificate", "server-response", "continue"):
                pass
            else:
                return f"wget: unrecognized option '--{key}'\n".encode()
            continue
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                flag = arg[j]
                if flag in with_value:
                    value = arg[j + 1:]
                    if not value:
                        if i >= len(args):
                            return f"wget: option requires an argument -- '{flag}'\n".encode()
                        value, i = args[i], i + 1
                    if flag == "O":
                        output = value
                    elif flag == "T":
                        timeout = float(value)
                    break
                if flag == "q":
                    quiet = True
                elif flag in ("S", "c", "s"):
                    spider = spider or flag == "s"
                else:
                    return f"wget: invalid option -- '{flag}'\n".encode()
                j += 1
            continue
        urls.append(arg)
    if not urls:
        return b"BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...\n"
    return quiet, output, timeout, spider, urls[0]
