"""Read a kubeconfig before the ``kubernetes`` client acts on it.

The client's loader is a means of running code and of leaking secrets as
much as of reading a file: an ``exec`` user runs a command (a roster's
``kubeconfig`` column ran ``id > PWNED`` during ``labgrade batch``), an
``auth-provider`` refreshes tokens over the network, a token file that ends
in a newline becomes an invalid ``Authorization`` header whose text (with
the token) ended up in every report, and a YAML mistake surfaced as a
traceback. So labgrade parses the file itself first: one line naming the
file, line and problem for a malformed one; a refusal naming the user for
credential commands the teacher did not allow; and afterwards every
credential the client loaded is registered with :mod:`grader.redact` and
bearer tokens are trimmed as kubectl trims them (``strings.TrimSpace``).
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from grader import redact
from grader.errors import InputError
from grader.files import read_input

#: Fields of a kubeconfig user that hold a secret (or a file holding one).
SECRET_FIELDS = ("token", "password", "client-key-data")
SECRET_FILE_FIELDS = ("tokenFile", "client-key")
#: auth-provider config fields that hold secrets.
PROVIDER_SECRETS = ("id-token", "refresh-token", "client-secret", "access-token")


@dataclass(frozen=True)
class CredentialCommand:
    """A user entry that would make the client run or fetch something."""

    file: str
    user: str
    how: str  # "exec" | "auth-provider"
    command: str

    def refusal(self) -> str:
        what = (f"runs the command {self.command!r} to get credentials (an exec credential plugin)"
                if self.how == "exec" else f"gets credentials from the {self.command!r} auth-provider")
        return (f"user {self.user!r} {what}; labgrade does not run commands or credential helpers from a "
                "kubeconfig named by a roster, because whoever wrote the file chooses them. "
                "Give a token or client certificate instead, or pass --allow-exec-credentials if you trust this file")


def files(kubeconfig: str | None) -> list[str]:
    """The files the client would read: ``--kubeconfig``, else every entry
    of ``KUBECONFIG``, else ``~/.kube/config`` (only those that exist)."""
    if kubeconfig:
        return [kubeconfig]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p and Path(p).exists()]
    default = Path(os.path.expanduser("~/.kube/config"))
    return [str(default)] if default.exists() else []


def parse(path: str) -> dict[str, Any]:
    """The kubeconfig at ``path`` as a mapping, or one :class:`InputError`
    with the file, line and problem."""
    try:
        text = read_input(path, "kubeconfig").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "is not a kubeconfig (not UTF-8 text)") from None
    try:
        from grader.sources.dumpread import Loader, check_aliases

        loader = Loader(text)
        try:  # the alias budget of dumps applies: a kubeconfig from a roster is anyone's file
            node = loader.get_single_node()
            if node is not None and "&" in text:
                check_aliases(node)
            doc = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(path, f"not a valid kubeconfig: {exc.problem or exc.context} (a YAML syntax error)",
                         mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"not a valid kubeconfig ({' '.join(str(getattr(exc, 'message', exc)).split())[:200]})") from None
    except RecursionError:
        raise InputError(path, "not a valid kubeconfig: nested too deeply") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(path, f"not a kubeconfig: the file holds a YAML {type(doc).__name__}, not a mapping with "
                               "clusters, users and contexts")
    for section in ("clusters", "users", "contexts"):
        value = doc.get(section)
        if value is not None and not isinstance(value, list):
            raise InputError(path, f"not a valid kubeconfig: {section!r} must be a list", _line_of(text, section))
    return doc


def _line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return n
    return None


def _users(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for entry in doc.get("users") or []:
        if isinstance(entry, dict) and isinstance(entry.get("user"), dict):
            out.append((str(entry.get("name") or "?"), entry["user"]))
    return out


def credential_commands(path: str, doc: dict[str, Any]) -> list[CredentialCommand]:
    """Every user in the file that has an ``exec`` or ``auth-provider``
    entry: any of them could be picked by a context, so all count."""
    out = []
    for name, user in _users(doc):
        if isinstance(user.get("exec"), dict) or user.get("exec") is not None:
            exe = user.get("exec") if isinstance(user.get("exec"), dict) else {}
            argv = [str(exe.get("command") or "")] + [str(a) for a in exe.get("args") or [] if isinstance(exe.get("args"), list)]
            out.append(CredentialCommand(path, name, "exec", " ".join(argv).strip()[:120]))
        if user.get("auth-provider") is not None:
            provider = user.get("auth-provider") if isinstance(user.get("auth-provider"), dict) else {}
            out.append(CredentialCommand(path, name, "auth-provider", str(provider.get("name") or "?")[:60]))
    return out


#: Fields of a kubeconfig that name a file the client reads whole, by section.
READ_FILE_FIELDS = {"users": ("user", ("tokenFile", "client-certificate", "client-key")),
                    "clusters": ("cluster", ("certificate-authority",))}
#: Bytes such a file may hold (a CA bundle of every public root is 250 KB).
CREDENTIAL_FILE_LIMIT = 4 * 1024 * 1024


def check_files(path: str, doc: dict[str, Any]) -> None:
    """Refuse, with one line, a file the client would read whole that is not a
    regular file of sane size: ``tokenFile: /dev/zero`` filled memory without
    end, a named pipe blocked the run before any request (the client reads
    these with a bare ``read()``, and labgrade reads the secret ones to mask them)."""
    import stat

    base = Path(path).parent
    for section, (inner, fields) in READ_FILE_FIELDS.items():
        for entry in doc.get(section) or []:
            body = entry.get(inner) if isinstance(entry, dict) else None
            if not isinstance(body, dict):
                continue
            for field in fields:
                value = body.get(field)
                if not isinstance(value, str) or not value:
                    continue
                target = base / os.path.expanduser(value)
                try:
                    st = os.stat(target)
                except OSError:
                    continue  # missing or unreadable: the client's own error says so
                where = f"{section[:-1]} {str(entry.get('name') or '?')!r}: {field} {value}"
                if not stat.S_ISREG(st.st_mode):
                    raise InputError(path, f"{where} is not a regular file (a device, pipe or folder)")
                if st.st_size > CREDENTIAL_FILE_LIMIT:
                    raise InputError(path, f"{where} is over {CREDENTIAL_FILE_LIMIT // (1024 * 1024)} MB; "
                                           "not a credential or certificate file")


#: Fields of a kubeconfig user naming a file whose content the client sends
#: to the file's own server (a bearer token) or uses to prove who it is.
CREDENTIAL_FILE_FIELDS = ("tokenFile", "client-certificate", "client-key")


def foreign_credential_files(path: str, doc: dict[str, Any]) -> list[str]:
    """A refusal for each user credential file a kubeconfig names outside its
    own folder (symlinks resolved). The client reads the file and sends it
    to the server the kubeconfig names: a student's kubeconfig with
    ``tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token`` (the
    grading Job's own token) or a teacher's ``~/.kube`` file, and the
    student's server as ``server``, would be handed the grader's credential."""
    folder = os.path.realpath(Path(path).parent)
    out = []
    for name, user in _users(doc):
        for field in CREDENTIAL_FILE_FIELDS:
            value = user.get(field)
            if not isinstance(value, str) or not value:
                continue
            target = os.path.realpath(Path(path).parent / os.path.expanduser(value))
            if os.path.commonpath([folder, target]) != folder:
                out.append(f"user {name[:60]!r}: {field} {value[:200]!r} is outside the kubeconfig's folder, and the "
                           "client would send what it holds to this kubeconfig's server; labgrade reads credential "
                           "files of a kubeconfig named by a roster only from its own folder. Embed the credential "
                           "(token, client-certificate-data, client-key-data), or pass --allow-exec-credentials if "
                           "you trust this file")
    return out


def register_secrets(path: str, doc: dict[str, Any]) -> None:
    """Tell :mod:`grader.redact` every secret the file holds or points to."""
    base = Path(path).parent
    for _, user in _users(doc):
        for field in SECRET_FIELDS:
            value = user.get(field)
            if isinstance(value, str):
                redact.register(value)
                if field == "client-key-data":
                    try:
                        redact.register(base64.b64decode(value).decode("utf-8", "replace"))
                    except ValueError:
                        pass
        for field in SECRET_FILE_FIELDS:
            value = user.get(field)
            if isinstance(value, str) and value:
                redact.register_file(base / os.path.expanduser(value))
        provider = user.get("auth-provider")
        if isinstance(provider, dict) and isinstance(provider.get("config"), dict):
            for field in PROVIDER_SECRETS:
                redact.register(provider["config"].get(field))


#: Seconds an exec credential plugin may run: a cloud's token helper takes one or
#: two; a plugin waiting at a terminal (a browser login) gets the longer figure.
EXEC_PLUGIN_SECONDS = 30.0
EXEC_PLUGIN_INTERACTIVE_SECONDS = 120.0
#: Bytes of a plugin's stdout or stderr kept (an ExecCredential is a few KB).
EXEC_PLUGIN_OUTPUT = 1024 * 1024


def bound_exec_plugins() -> None:
    """Make the client's exec credential plugins bounded in time and output.

    The client runs a plugin with ``Popen(...).communicate()``: no timeout (a
    plugin that never exits hung ``labgrade grade`` before its first request,
    forever, and again at every token refresh) and all its output kept (100 MB
    printed was 330 MB resident). Its ``Popen`` is given one whose
    ``communicate`` stops the plugin at :data:`EXEC_PLUGIN_SECONDS` or
    :data:`EXEC_PLUGIN_OUTPUT` with a ConfigException saying which, which the
    client reports as for any plugin that fails. Idempotent."""
    import subprocess
    import sys
    import types

    from kubernetes.config import exec_provider

    if getattr(exec_provider.subprocess, "_labgrade", False):
        return

    class BoundedPopen(subprocess.Popen):
        """``subprocess.Popen`` for a credential plugin, with a bounded ``communicate``."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._labgrade_tty = kwargs.get("stdin") is sys.stdin  # the client passes the terminal on when interactive

        def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
            return _communicate(self)

    shim = types.ModuleType("subprocess")
    shim.__dict__.update({k: v for k, v in vars(subprocess).items() if not k.startswith("__")})
    shim.Popen = BoundedPopen  # type: ignore[attr-defined]
    shim._labgrade = True  # type: ignore[attr-defined]
    exec_provider.subprocess = shim


def _communicate(proc: Any) -> tuple[str, str]:
    import selectors
    import subprocess
    import time

    from kubernetes.config.config_exception import ConfigException

    name = os.path.basename(str(proc.args[0] if isinstance(proc.args, (list, tuple)) else proc.args))[:60]
    seconds = EXEC_PLUGIN_INTERACTIVE_SECONDS if proc._labgrade_tty else EXEC_PLUGIN_SECONDS
    until = time.monotonic() + seconds
    streams = {f: bytearray() for f in (proc.stdout, proc.stderr) if f is not None}
    with selectors.DefaultSelector() as sel:
        for f in streams:
            sel.register(f, selectors.EVENT_READ)
        try:
            while sel.get_map():
                left = until - time.monotonic()
                if left <= 0:
                    raise ConfigException(f"exec: the credential plugin {name!r} did not finish within {seconds:g} s")
                for key, _ in sel.select(min(left, 1.0)):
                    chunk = os.read(key.fileobj.fileno(), 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    buf = streams[key.fileobj]
                    buf += chunk
                    if len(buf) > EXEC_PLUGIN_OUTPUT:
                        raise ConfigException(f"exec: the credential plugin {name!r} printed more than "
                                              f"{EXEC_PLUGIN_OUTPUT // (1024 * 1024)} MB")
            try:
                proc.wait(timeout=max(until - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:  # closed its output, kept running
                raise ConfigException(f"exec: the credential plugin {name!r} did not finish within {seconds:g} s") from None
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            for f in streams:
                f.close()
    out, err = (bytes(streams.get(f) or b"").decode("utf-8", "replace") for f in (proc.stdout, proc.stderr))
    return out, (err if proc.stderr is not None else None)  # type: ignore[return-value]


def harden(cfg: Any) -> None:
    """After the client loaded ``cfg``: register what it holds (token,
    exec-plugin output, basic-auth password, client key) and trim bearer
    tokens now and on every refresh, as kubectl does."""
    _trim_and_register(cfg)
    hook = getattr(cfg, "refresh_api_key_hook", None)
    if hook is not None and not getattr(hook, "_labgrade", False):
        def refreshed(c: Any, _inner=hook) -> None:
            # The client's hook rewrites api_key with the untrimmed token before
            # every request; run it on a stand-in object and copy trimmed values
            # over, so that a parallel request never reads the untrimmed one.
            shadow = SimpleNamespace(api_key={})
            _inner(shadow)
            _trim_and_register(shadow)
            for name, value in shadow.api_key.items():
                c.api_key[name] = value

        refreshed._labgrade = True  # type: ignore[attr-defined]
        cfg.refresh_api_key_hook = refreshed


def _trim_and_register(cfg: Any) -> None:
    keys = getattr(cfg, "api_key", None) or {}
    for name, value in list(keys.items()):
        if not isinstance(value, str):
            continue
        redact.register(value)
        scheme, sep, token = value.strip().partition(" ")
        if sep and scheme.lower() in ("bearer", "basic"):
            keys[name] = f"{scheme} {token.strip()}"
        else:
            keys[name] = value.strip()
    redact.register(getattr(cfg, "password", None))
    redact.register_file(getattr(cfg, "key_file", None))


__all__ = ["CredentialCommand", "check_files", "credential_commands", "files", "foreign_credential_files", "harden",
           "parse", "register_secrets"]
