"""General checks on any kind: it exists, it is gone, it has this shape.

These are the checks a teacher writes a new lab with: the kind is a
parameter (custom resources included, once the rubric declares them under
``kinds:``), the object is found by name or label selector, and the expected
shape is a partial object tree (see checks/assert_tree.py).
"""
from __future__ import annotations

from typing import Any

from checks import assert_tree, k8s, select
from checks.registry import CheckContext, check
from grader.i18n import Text as T
from grader.outcome import Outcome, error, failed, passed
from grader.view import MissingKind, Obj


def _bad_selector(exc: Exception) -> Outcome:
    return error(T(f"评分标准中的标签选择器有误：{exc}", f"the rubric's label selector is wrong: {exc}"))


def _names(objs: list[Obj]) -> str:
    return k8s.names_list([k8s.name(o) for o in objs])


def _first_found(ctx: CheckContext, alternatives: list[str], name: str | None, selector: Any,
                 namespace: str | None) -> tuple[select.Target, list[Obj]]:
    """The first kind among ``alternatives`` with a match; when none has
    one and some kind was never listed, absence is unproven (MissingKind)."""
    first: tuple[select.Target, list[Obj]] | None = None
    missing: MissingKind | None = None
    for k in alternatives:
        tgt = select.target(k, name, selector, namespace)
        try:
            found = tgt.find(ctx.view, ctx.namespace)
        except MissingKind as exc:
            missing = missing or exc
            continue
        if found:
            return tgt, found
        first = first or (tgt, found)
    if missing is not None:
        raise missing
    assert first is not None
    return first


@check("object.exists", reads=select.reads_of)
def object_exists(
    ctx: CheckContext,
    kind: str | list[str],
    name: str | None = None,
    selector: str | dict[str, Any] | None = None,
    namespace: str | None = None,
    count: int | None = None,
) -> Outcome:
    """An object of any kind exists and is not being deleted.

    Why: the first thing a lab step asks is usually "create X"; a general
    check lets a rubric say so for any kind without Python.

    Parameters:
        kind: the kind (``ConfigMap``, ``StatefulSet``, a declared custom resource), or a list of kinds any of which will do
        name: its name; or give ``selector`` instead
        selector: a label selector (``app=web`` or a map) matching at least one object
        namespace: where to look (default: the lab namespace; ignored for cluster-scoped kinds)
        count: with ``selector``, exactly this many objects must match

    Reads: the ``kind`` in the lab namespace, or in ``namespace`` only the named objects

    Passes: the object exists (or, with ``selector``, at least one, or exactly ``count``, match) and none is being deleted.

    Fails: "no ConfigMap web-config in namespace default" (listing the names that are there);
        "ConfigMap web-config is being deleted"; "2 StatefulSets labelled app=web, expected 3".

    Partial credit: none.
    """
    if (name is None) == (selector is None):
        return error(T("评分标准应给出 name 或 selector 之一", "the rubric must give exactly one of name or selector"))
    alternatives = kind if isinstance(kind, list) else [kind]
    if not alternatives:
        return error(T("评分标准的 kind 为空", "the rubric's kind list is empty"))
    if select.other_namespace_selector(namespace, selector, ctx.namespace, alternatives[0]):
        return error(T("标签选择器只在实验命名空间中查找；其他命名空间的对象请按名称指定",
                       "a label selector looks in the lab namespace only; name objects in other namespaces"))
    try:
        tgt, found = _first_found(ctx, alternatives, name, selector, namespace)
    except select.BadSelector as exc:
        return _bad_selector(exc)
    ns = tgt.namespace or ctx.namespace
    what = tgt.describe()
    if not found:
        if name is not None:
            return k8s.not_found(ctx.view, ns, tgt.kind, name)
        return failed(T(f"没有{what.zh}", f"no {what.en}"), expected=what,
                      observed=T(f"该命名空间的 {tgt.kind}：{_names(ctx.view.objects(tgt.kind, ns))}",
                                 f"{tgt.kind}s in the namespace: {_names(ctx.view.objects(tgt.kind, ns))}"))
    going = [o for o in found if k8s.is_terminating(o)]
    observed = T(f"找到：{_names(found)}", f"found: {_names(found)}")
    if going:
        return failed(T(f"{what.zh} 正在被删除：{_names(going)}", f"{what.en} being deleted: {_names(going)}"),
                      expected=T("存在且未被删除", "present and not being deleted"), observed=observed)
    if count is not None and len(found) != count:
        return failed(T(f"{what.zh} 有 {len(found)} 个，应为 {count} 个", f"{len(found)} {what.en}, expected {count}"),
                      expected=T(f"{count} 个", f"{count}"), observed=observed)
    return passed(T(f"{what.zh} 存在", f"{what.en} exists" if name else f"{what.en} exist"), observed=observed)


@check("object.absent", reads=select.reads_of)
def object_absent(
    ctx: CheckContext,
    kind: str,
    name: str | None = None,
    names: list[str] | None = None,
    selector: str | dict[str, Any] | None = None,
    namespace: str | None = None,
) -> Outcome:
    """Objects of any kind are gone (cleanup steps).

    Why: "delete what you created" is every lab's last step; an object
    already marked for deletion (``deletionTimestamp``) counts as gone,
    because its controllers or kubelet are finishing the job.

    Parameters:
        kind: the kind
        name: one object's name
        names: several names (partial credit per name)
        selector: a label selector: every matching object must be gone
        namespace: where to look (default: the lab namespace)

    Reads: the ``kind`` in the lab namespace, or in ``namespace`` only the named objects

    Passes: none of the objects is present (terminating ones are noted and counted as gone).

    Fails: "2 Service(s) still present: web, web-headless".

    Partial credit: with ``names``, the fraction of them that are gone.
    """
    wanted = ([name] if name else []) + list(names or [])
    if bool(wanted) == (selector is not None):
        return error(T("评分标准应给出 name/names 或 selector 之一", "the rubric must give name/names or a selector, not both"))
    if select.other_namespace_selector(namespace, selector, ctx.namespace, kind):
        return error(T("标签选择器只在实验命名空间中查找；其他命名空间的对象请按名称指定",
                       "a label selector looks in the lab namespace only; name objects in other namespaces"))
    ns = namespace
    remaining: list[str] = []
    going: list[str] = []
    try:
        if selector is not None:
            objs = select.target(kind, None, selector, ns).find(ctx.view, ctx.namespace)
            total = max(len(objs), 1)
        else:
            objs = [o for n in wanted for o in select.target(kind, n, None, ns).find(ctx.view, ctx.namespace)]
            total = len(wanted)
    except select.BadSelector as exc:
        return _bad_selector(exc)
    for o in objs:
        (going if k8s.is_terminating(o) else remaining).append(k8s.name(o))
    what = select.target(kind, None, selector, ns).describe() if selector is not None else \
        T(f"{kind} {k8s.names_list(wanted)}", f"{kind} {k8s.names_list(wanted)}")
    notes = (T(f"正在删除，视为已删除：{k8s.names_list(going)}", f"being deleted, counted as gone: {k8s.names_list(going)}"),) \
        if going else ()
    if not remaining:
        return passed(T(f"{what.zh} 已删除", f"{what.en}: deleted"), notes=notes)
    score = 0.0 if selector is not None else 1 - len(remaining) / total
    return failed(
        T(f"还有 {len(remaining)} 个 {kind} 没有删除：{k8s.names_list(remaining)}",
          f"{len(remaining)} {kind}(s) still present: {k8s.names_list(remaining)}"),
        expected=T(f"已删除：{what.zh}", f"deleted: {what.en}"),
        observed=T(f"仍存在：{k8s.names_list(remaining)}", f"still present: {k8s.names_list(remaining)}"),
        score=score, notes=notes)


@check("object.matches", reads=select.reads_of)
def object_matches(
    ctx: CheckContext,
    kind: str,
    expect: dict[str, Any] | None = None,
    name: str | None = None,
    selector: str | dict[str, Any] | None = None,
    namespace: str | None = None,
    partial: bool = False,
    what: dict[str, str] | None = None,
    exact_lists: bool = False,
    any_of: list[dict[str, Any]] | None = None,
) -> Outcome:
    """An object has the shape a partial object tree describes, or one of several.

    Why: most lab requirements are fields (``spec.type: NodePort``, a
    port, a label); an assertion tree like kuttl's or Chainsaw's states
    them as YAML, with comparisons (``(>= 30000)``) and JMESPath
    expressions where a literal is not enough. Where a requirement has
    several correct forms (a ConfigMap read through ``envFrom`` or through
    ``env[].valueFrom.configMapKeyRef``; an RBAC rule as one rule or two),
    ``any_of`` lists them, as Kyverno's ``anyPattern`` does: one tree would
    fail every student who chose the other form.

    Parameters:
        kind: the kind
        expect: the partial tree, e.g. ``{spec: {type: NodePort, "ports[0].nodePort": "(>= 30000)"}}``; ``{{ namespace }}`` in it is the lab namespace
        name: the object's name; or give ``selector`` instead
        selector: a label selector (``app=web`` or a map); every matching object must match
        namespace: where to look (default: the lab namespace)
        partial: give credit per matching leaf instead of all or nothing
        what: ``{zh, en}``: how the messages name the requirement ("a NodePort service")
        exact_lists: every list in ``expect`` must also have as many elements as the object's (any order): for lists where one more element allows more (RBAC ``verbs`` and ``rules``, a NetworkPolicy's ``ingress`` and ``from``); by default a list only has to contain the expected elements
        any_of: alternative trees, any one of which will do (see the example); instead of ``expect``, or beside it (then ``expect`` must match and one alternative too)

    Reads: the ``kind`` in the lab namespace, or in ``namespace`` only the named objects

    Example:
        use: object.matches
        with:
          kind: Pod
          name: app-pod
          partial: true
          any_of:   # APP_MODE from the ConfigMap app-config: one variable, or every key through envFrom
            - spec: {containers: [{env: [{name: APP_MODE, valueFrom: {configMapKeyRef: {name: app-config, key: APP_MODE}}}]}]}
            - spec: {containers: [{envFrom: [{configMapRef: {name: app-config}, prefix: null}]}]}

    Passes: every leaf of ``expect`` matches and, with ``any_of``, every leaf of at least one alternative (on every selected object).

    Fails: "Service web does not match: spec.type expected "NodePort", saw "ClusterIP"",
        the evidence lists each leaf that did not match with its path, expected and observed value;
        with ``exact_lists``, "length(spec.ingress[0].from) expected 1, saw 2";
        with ``any_of``, "Pod app-pod: none of the 2 alternatives matches; closest is alternative 2: spec.containers[0].envFrom[0].configMapRef.name expected ..." with that alternative's failing leaves;
        "no Service web in namespace default" when the object is missing.

    Partial credit: with ``partial: true``, the fraction of leaves that match (with ``any_of``, the leaves of ``expect`` and of the alternative that came closest).
    """
    trees = ([expect] if expect is not None else []) + list(any_of or [])
    if expect is None and any_of is None:
        return error(T("评分标准应给出 expect 或 any_of", "the rubric must give expect or any_of"))
    if any_of is not None and not any_of:
        return error(T("评分标准的 any_of 为空", "the rubric's any_of lists no alternative"))
    for tree in trees:
        problems = assert_tree.validate(tree)
        if problems:
            return error(T(f"评分标准中的断言有误：{problems[0]}", f"the rubric's assertion is wrong: {problems[0]}"))
    if (name is None) == (selector is None):
        return error(T("评分标准应给出 name 或 selector 之一", "the rubric must give exactly one of name or selector"))
    if select.other_namespace_selector(namespace, selector, ctx.namespace, kind):
        return error(T("标签选择器只在实验命名空间中查找；其他命名空间的对象请按名称指定",
                       "a label selector looks in the lab namespace only; name objects in other namespaces"))
    expect = assert_tree.fill_namespace(expect, ctx.namespace) if expect is not None else None
    alternatives = [assert_tree.fill_namespace(t, ctx.namespace) for t in any_of] if any_of is not None else None
    tgt = select.target(kind, name, selector, namespace)
    try:
        found = tgt.find(ctx.view, ctx.namespace)
    except select.BadSelector as exc:
        return _bad_selector(exc)
    if not found:
        if name is not None:
            return k8s.not_found(ctx.view, namespace or ctx.namespace, tgt.kind, name)
        d = tgt.describe()
        return failed(T(f"没有{d.zh}", f"no {d.en}"), expected=d)
    label = T(what["zh"], what["en"]) if what else tgt.describe()
    leaves: list[assert_tree.Leaf] = []
    fits: list[tuple[str, assert_tree.Fit]] = []  # (object name, closest alternative) per object
    try:
        for obj in found:
            prefix = "" if name else f"{k8s.name(obj)}:"
            mine = assert_tree.match(expect, obj, exact_lists=exact_lists) if expect is not None else []
            if alternatives is not None:
                fit = assert_tree.closest(alternatives, obj, exact_lists=exact_lists)
                fits.append((k8s.name(obj), fit))
                mine += fit.leaves
            leaves += [assert_tree.Leaf(prefix + lf.path, lf.expected, lf.observed, lf.ok) for lf in mine]
    except assert_tree.BadAssertion as exc:
        return error(T(f"评分标准中的断言有误：{exc}", f"the rubric's assertion is wrong: {exc}"))
    n_alt = len(alternatives or [])
    bad = [lf for lf in leaves if not lf.ok]
    shown = [f"{lf.path}: {assert_tree.show(lf.observed)}" for lf in bad[:6]]
    more = len(bad) - len(shown)
    ok_n = len(leaves) - len(bad)
    chosen = T("；".join(f"{'' if name else o + '：'}第 {f.index + 1} 种写法" for o, f in fits),
               "; ".join(f"{'' if name else o + ': '}alternative {f.index + 1}" for o, f in fits))
    if not bad:
        if fits:
            return passed(T(f"{label.zh}：{len(leaves)} 项全部符合（{chosen.zh}，共 {n_alt} 种）",
                            f"{label.en}: all {len(leaves)} fields match ({chosen.en} of {n_alt})"))
        return passed(T(f"{label.zh}：{len(leaves)} 项全部符合", f"{label.en}: all {len(leaves)} fields match"))
    first = bad[0]
    lead = T(f"{label.zh}不符合", f"{label.en} does not match")
    missed = [(o, f) for o, f in fits if not f.ok]
    if missed:
        o, f = missed[0]
        whose = "" if name else f"{o} "
        lead = T(f"{label.zh}{'（' + o + '）' if whose else ''}不符合 {n_alt} 种写法中的任何一种；最接近的是第 {f.index + 1} 种",
                 f"{label.en}{' (' + o + ')' if whose else ''}: none of the {n_alt} alternatives matches; "
                 f"closest is alternative {f.index + 1}")
        # the leaf after "closest is alternative N:" is that alternative's, on that object (not expect's, not another's)
        lf = next(lf for lf in f.leaves if not lf.ok)
        first = assert_tree.Leaf(("" if name else f"{o}:") + lf.path, lf.expected, lf.observed, lf.ok)
    notes = [T(f"{ok_n}/{len(leaves)} 项符合", f"{ok_n} of {len(leaves)} fields match")]
    if fits:
        notes.append(T(f"对照的写法：{chosen.zh}（共 {n_alt} 种，取最接近的一种）",
                       f"compared with: {chosen.en} (of {n_alt}, the closest)"))
    return failed(
        T(f"{lead.zh}：{first.path} 应为 {assert_tree.show(first.expected)}，实际为 {assert_tree.show(first.observed)}"
          + (f"（另有 {len(bad) - 1} 项不符）" if len(bad) > 1 else ""),
          f"{lead.en}: {first.path} expected {assert_tree.show(first.expected)}, saw "
          f"{assert_tree.show(first.observed)}" + (f" ({len(bad) - 1} more fields differ)" if len(bad) > 1 else "")),
        expected=T("；".join(f"{lf.path} = {assert_tree.show(lf.expected)}" for lf in bad[:6]),
                   "; ".join(f"{lf.path} = {assert_tree.show(lf.expected)}" for lf in bad[:6])),
        observed=T("；".join(shown) + (f"；…（+{more}）" if more > 0 else ""),
                   "; ".join(shown) + (f"; … (+{more})" if more > 0 else "")),
        score=ok_n / len(leaves) if partial and leaves else 0.0,
        notes=tuple(notes))
