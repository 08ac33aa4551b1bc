"""An example course's own check, loaded through the ``labgrade.checks``
entry point group: importing the module registers it."""
from __future__ import annotations

from checks import k8s
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, failed, passed


@check("course.configmap_has_key", reads=("ConfigMap",))
def configmap_has_key(ctx: CheckContext, name: str, key: str) -> Outcome:
    """A ConfigMap holds a key.

    Why: the course's own lab stores its settings in a ConfigMap; this shows
    how a course adds a check without forking labgrade.

    Parameters:
        name: the ConfigMap
        key: the key it must hold

    Passes: the ConfigMap exists and has ``key`` in ``data``.

    Fails: "ConfigMap web-config has no key index.html"; "no ConfigMap web-config in namespace default".

    Partial credit: none.
    """
    cm = ctx.view.get("ConfigMap", ctx.namespace, name)
    if cm is None:
        return k8s.not_found(ctx.view, ctx.namespace, "ConfigMap", name)
    if key in (cm.get("data") or {}):
        return passed(T(f"ConfigMap {name} 含有 {key}", f"ConfigMap {name} has key {key}"))
    return failed(T(f"ConfigMap {name} 没有 {key}", f"ConfigMap {name} has no key {key}"),
                  expected=T(key, key), observed=T(", ".join(sorted(cm.get("data") or {})) or "-",
                                                   ", ".join(sorted(cm.get("data") or {})) or "-"))
