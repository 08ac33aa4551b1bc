"""The lab done in another namespace: say where, instead of 15/100.

Graded without ``-n``, a lab done in ``lab-42`` shows "Deployment: -" on
every check and a near-zero score that is silently wrong. When the lab
namespace holds none of the lab's objects, look for them elsewhere (in the
whole dump, or one cluster-wide LIST by name on a live cluster) and say
"deployment1 is in namespace lab-42: grade with -n lab-42" on the report's
first line. Only looked for when nothing of the lab is where it should be,
so an ordinary run costs nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from grader.i18n import Text
from grader.phases import lab_objects, present
from grader.rubric import Rubric
from grader.view import ClusterView

_LISTS = {"Deployment": ("AppsV1Api", "list_deployment_for_all_namespaces"),
          "Service": ("CoreV1Api", "list_service_for_all_namespaces"),
          "Pod": ("CoreV1Api", "list_pod_for_all_namespaces")}


def note(kind: str, name: str, namespaces: list[str], check_of: str | None = None) -> Text:
    """The report note for ``name`` found in other ``namespaces``.
    ``check_of``: the namespace a student's ``labgrade check`` looks at,
    whose student may instead have meant to work there (a hint's command
    run without ``-n``): both ways out are said."""
    first = namespaces[0]
    more = namespaces[1:]
    also_zh = f"（也在 {'、'.join(more)} 中）" if more else ""
    also_en = f" (also in {', '.join(more)})" if more else ""
    if check_of is not None:
        return Text(f"{name} 在命名空间 {first} 中{also_zh}，不在 {check_of} 中：请用 -n {first} 检查，"
                    f"或者在 {check_of} 中创建（kubectl 命令加上 -n {check_of}）",
                    f"{name} is in namespace {first}{also_en}, not in {check_of}: check with -n {first}, "
                    f"or create it in {check_of} (kubectl -n {check_of} ...)")
    return Text(f"{name} 在命名空间 {first} 中{also_zh}：请用 -n {first} 评分",
                f"{name} is in namespace {first}{also_en}: grade with -n {first}")


def missing_everywhere_here(rubric: Rubric, view: ClusterView, namespace: str) -> bool:
    """The lab namespace holds none of the lab's objects (and the view could tell)."""
    found = present(view, namespace, lab_objects(rubric))
    return found == ()


def in_objects(rubric: Rubric, objects: Iterable[dict[str, Any]], namespace: str) -> Text | None:
    """The note for the first lab object found outside ``namespace`` among
    ``objects`` (a whole dump), or None."""
    wanted = [(k, n) for k, n in lab_objects(rubric) if k in _LISTS]
    where: dict[tuple[str, str], list[str]] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        key = (obj.get("kind"), meta.get("name"))
        ns = meta.get("namespace")
        if key in wanted and ns and ns != namespace:
            where.setdefault(key, [])
            if ns not in where[key]:
                where[key].append(ns)
    for key in wanted:
        if where.get(key):
            return note(key[0], key[1], sorted(where[key]))
    return None


def in_dump(rubric: Rubric, path: str, namespace: str) -> Text | None:
    """Read the whole dump again (the grading kept only the lab namespace)
    and look for the lab there; never raises."""
    from grader.sources import snapshot

    try:
        snap = snapshot.load(Path(path))
        view = snap.view()
    except Exception:  # noqa: BLE001 - a hint must never break grading
        return None
    objects = [o for kind in _LISTS if view.has(kind) for o in view.objects(kind)]
    return in_objects(rubric, objects, namespace)


def in_cluster(rubric: Rubric, api: Any, namespace: str, *, for_check: bool = False) -> Text | None:
    """One cluster-wide LIST by name per lab object kind, stopping at the
    first found; a grader not allowed to list cluster-wide just says
    nothing (a hint, not a verdict). ``for_check``: the note for
    ``labgrade check`` (see :func:`note`)."""
    try:
        from kubernetes import client
    except ImportError:
        return None
    for kind, name in lab_objects(rubric):
        if kind not in _LISTS:
            continue
        api_name, method = _LISTS[kind]
        try:
            items = getattr(getattr(client, api_name)(api), method)(
                field_selector=f"metadata.name={name}", _request_timeout=5).items
        except Exception:  # noqa: BLE001 - forbidden, unreachable: no hint
            return None
        spaces = sorted({i.metadata.namespace for i in items if i.metadata.namespace != namespace})
        if spaces:
            return note(kind, name, spaces, check_of=namespace if for_check else None)
    return None


def namespace_absent(api: Any, namespace: str) -> Text | None:
    """"namespace s24 does not exist" for ``labgrade check -n s24``: one GET
    (404); a grader not allowed to read namespaces, or any other failure,
    says nothing (a hint, not a verdict)."""
    try:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
    except ImportError:
        return None
    try:
        client.CoreV1Api(api).read_namespace(namespace, _request_timeout=5)
    except ApiException as exc:
        if exc.status == 404:
            return Text(f"命名空间 {namespace} 不存在：检查 -n 是否写错，或者用 kubectl create namespace {namespace} 创建它",
                        f"namespace {namespace} does not exist: check the -n, or create it with "
                        f"kubectl create namespace {namespace}")
        return None
    except Exception:  # noqa: BLE001 - unreachable: no hint
        return None
    return None


__all__ = ["note", "missing_everywhere_here", "in_objects", "in_dump", "in_cluster", "namespace_absent"]
