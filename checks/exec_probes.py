"""General probes with the rubric's own commands and expectations:
``exec.run``, ``http.get`` and ``dns.lookup``.

They go through the view (a live view runs them, a bundle answers from its
recording, a plain dump says it cannot: ``skipped``, not graded), are
bounded by a timeout, and only read: the command is the rubric's argv,
never a shell line, and anything taken from the cluster is validated before
it is put in it (see checks/cluster_template.py).  The wording of what is
being fetched comes from the rubric's ``what:``, not from any one lab.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from checks import cluster_template as tpl
from checks import k8s
from checks.registry import CheckContext, ProbeSeconds, check
from grader.i18n import Text as T
from grader.outcome import Outcome, error, failed, passed
from grader.view import ExecResult

_DOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")


def _what(what: dict[str, str] | None, zh: str, en: str) -> T:
    return T(what["zh"], what["en"]) if what else T(zh, en)


def _svc_reads(*templates: Any, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    try:
        named = tpl.services_named(*templates)
    except tpl.TemplateError:
        named = set()
    out = ["Pod", *extra]
    if named or extra:
        out += ["Service", "Endpoints", "EndpointSlice"]
    return tuple(dict.fromkeys(out))


def _render(ctx: CheckContext, items: list[str], pod: str | None, domain: str) -> list[str] | Outcome:
    scope = tpl.Scope(ctx.view, ctx.namespace, domain, pod)
    try:
        return [tpl.render(i, scope) for i in items]
    except tpl.TemplateError as exc:
        return error(T(f"评分标准中的模板有误：{exc}", f"the rubric's template is wrong: {exc}"))
    except tpl.Unresolvable as exc:
        return failed(exc.reason)


def _first_line(text: str) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0][:120] if lines else ""


def _pod_ok(ctx: CheckContext, pod: str) -> Outcome | None:
    if not tpl._LABEL.match(pod):
        return error(T(f"评分标准中的 Pod 名称 {pod!r} 不合法", f"the rubric's pod name {pod!r} is not valid"))
    obj = ctx.view.get("Pod", ctx.namespace, pod)
    if obj is None:
        return k8s.not_found(ctx.view, ctx.namespace, "Pod", pod)
    if not k8s.pod_ready(obj):
        return failed(T(f"Pod {pod} 没有在运行，无法在其中执行命令", f"pod {pod} is not running, so nothing can run in it"),
                      observed=T(f"phase={k8s.status(obj).get('phase')}", f"phase={k8s.status(obj).get('phase')}"))
    return None


def _no_binary(r: ExecResult, binary: str) -> bool:
    """The command itself is missing (not a "404 Not Found" it printed)."""
    err = (r.stderr or "").lower()
    name = binary.rsplit("/", 1)[-1].lower()
    return (r.failure == "not-found" or r.exit_code in (126, 127) or "executable file not found" in err
            or f"{name}: not found" in err)


@check("exec.run", live=True, reads=lambda p: _svc_reads(p.get("argv") or []))
def exec_run(
    ctx: CheckContext,
    pod: str,
    argv: list[str],
    exit_code: int = 0,
    stdout_contains: str | None = None,
    stdout_matches: str | None = None,
    stderr_contains: str | None = None,
    stderr_matches: str | None = None,
    container: str | None = None,
    timeout: ProbeSeconds = 10,
    cluster_domain: str = "cluster.local",
    what: dict[str, str] | None = None,
) -> Outcome:
    """Run the rubric's command in a pod and judge its exit code and output.

    Why: many lab steps end with "run X in the pod and see Y"
    (``nslookup``, ``cat``, ``curl``); the rubric states the argv and what
    the output must contain, so any such step is gradable without Python.

    Parameters:
        pod: the pod to run in (lab namespace)
        argv: the command as a list, each item may be a template (``{{ cluster_ip(web) }}``)
        exit_code: the exit code expected (default 0)
        stdout_contains: text stdout must contain
        stdout_matches: a regular expression stdout must match (``re.search``)
        stderr_contains: text stderr must contain
        stderr_matches: a regular expression stderr must match
        container: the container (default: the pod's first)
        timeout: seconds the command may take
        cluster_domain: the cluster's DNS domain, for templates
        what: ``{zh, en}``: what the command shows, for the messages ("the web page")

    Reads: Pod (and Service, Endpoints, EndpointSlice when a template names a Service)

    Passes: the command exits with ``exit_code`` and every output condition holds.

    Fails: "`cat /etc/resolv.conf` in clientpod: exit code 1, expected 0";
        "stdout does not contain 'search'"; "the command is not in the pod's image".

    Partial credit: none.
    """
    bad_pod = _pod_ok(ctx, pod)
    if bad_pod is not None:
        return bad_pod
    for rx in (stdout_matches, stderr_matches):
        if rx is not None:
            try:
                re.compile(rx)
            except re.error as exc:
                return error(T(f"评分标准中的正则表达式有误：{exc}", f"the rubric's regular expression is wrong: {exc}"))
    rendered = _render(ctx, list(argv), pod, cluster_domain)
    if isinstance(rendered, Outcome):
        return rendered
    if not rendered:
        return error(T("评分标准的 argv 为空", "the rubric's argv is empty"))
    r = ctx.view.exec(ctx.namespace, pod, rendered, container=container, timeout=timeout)
    label = _what(what, "命令的输出", "the command's output")
    shown = " ".join(rendered)
    observed = T(f"{pod} 中执行 `{shown}`：退出码 {r.exit_code}，输出 {_first_line(r.stdout or r.stderr)!r}",
                 f"`{shown}` in {pod}: exit code {r.exit_code}, output {_first_line(r.stdout or r.stderr)!r}")
    conds = [("stdout", stdout_contains, stdout_matches), ("stderr", stderr_contains, stderr_matches)]
    expected = T(f"退出码 {exit_code}" + "".join(f"，{s} 含 {c!r}" for s, c, _ in conds if c)
                 + "".join(f"，{s} 匹配 {m!r}" for s, _, m in conds if m),
                 f"exit code {exit_code}" + "".join(f", {s} containing {c!r}" for s, c, _ in conds if c)
                 + "".join(f", {s} matching {m!r}" for s, _, m in conds if m))
    if r.failure == "timeout":
        return failed(T(f"命令在 {timeout} 秒内没有结束", f"the command did not finish within {timeout} s"), expected=expected, observed=observed)
    if _no_binary(r, rendered[0]) and exit_code not in (126, 127):
        return failed(T(f"Pod {pod} 的镜像中没有 {rendered[0]} 命令", f"there is no {rendered[0]} in pod {pod}'s image"),
                      expected=expected, observed=observed)
    if r.exit_code is None:
        return error(T(f"命令没有返回退出码：{r.failure}", f"the command gave no exit code: {r.failure}"))
    if r.exit_code != exit_code:
        return failed(T(f"`{shown}` 的退出码是 {r.exit_code}，应为 {exit_code}", f"`{shown}` exited {r.exit_code}, expected {exit_code}"),
                      expected=expected, observed=observed)
    for stream, contains, matches in conds:
        text = (r.stdout if stream == "stdout" else r.stderr) or ""
        if contains is not None and contains not in text:
            return failed(T(f"{label.zh}中没有 {contains!r}（{stream}）", f"{label.en} does not contain {contains!r} ({stream})"),
                          expected=expected, observed=observed)
        if matches is not None and not re.search(matches, text):
            return failed(T(f"{label.zh}不匹配 {matches!r}（{stream}）", f"{label.en} does not match {matches!r} ({stream})"),
                          expected=expected, observed=observed)
    return passed(T(f"`{shown}` 的结果符合要求：{label.zh}", f"`{shown}` gave what was expected: {label.en}"), observed=observed)


@check("http.get", live=True, reads=lambda p: _svc_reads(p.get("url") or ""))
def http_get(
    ctx: CheckContext,
    pod: str,
    url: str,
    expect_body: str | None = None,
    timeout: ProbeSeconds = 5,
    cluster_domain: str = "cluster.local",
    what: dict[str, str] | None = None,
) -> Outcome:
    """From a pod, fetch a URL built from the cluster with ``wget`` and check the page.

    Why: "reach the service from a client pod" is how labs prove a Service
    works end to end (DNS, kube-proxy, the backend); the URL is a template
    because ClusterIPs, nodePorts and pod names are only known in the cluster.

    Parameters:
        pod: the client pod (it needs ``wget``, e.g. busybox)
        url: a URL template: ``http://{{ service_dns(web) }}``, ``http://{{ node_ip }}:{{ nodeport(web-np) }}``, ``http://{{ pod_dns(web-headless, first) }}``
        expect_body: text the page must contain (default: any page)
        timeout: wget's timeout in seconds
        cluster_domain: the cluster's DNS domain
        what: ``{zh, en}``: what the page is ("httpd's welcome page"), for the messages

    Reads: Pod (and Service, Endpoints, EndpointSlice when a template names a Service)

    Passes: wget exits 0 and the page contains ``expect_body``.

    Fails: "the name does not resolve"; "the connection was refused"; "the connection timed out";
        "the page is not httpd's welcome page"; "there is no wget in the pod"; "no Service web to build the address from".

    Partial credit: none.
    """
    bad_pod = _pod_ok(ctx, pod)
    if bad_pod is not None:
        return bad_pod
    rendered = _render(ctx, [url], pod, cluster_domain)
    if isinstance(rendered, Outcome):
        return rendered
    target = rendered[0]
    if not re.match(r"^https?://[A-Za-z0-9.:_\-\[\]]+(/[A-Za-z0-9._~/%-]*)?$", target):
        return error(T(f"URL 不合法：{target!r}", f"not a valid URL: {target!r}"))
    argv = ["wget", "-q", "-O", "-", "-T", str(timeout), target]
    r = ctx.view.exec(ctx.namespace, pod, argv, timeout=timeout + 10)
    label = _what(what, "页面", "the page")
    err = (r.stderr or "").lower()
    observed = T(f"{pod} 中执行 `{' '.join(argv)}`：退出码 {r.exit_code}，输出 {_first_line(r.stdout or r.stderr)!r}",
                 f"`{' '.join(argv)}` in {pod}: exit code {r.exit_code}, output {_first_line(r.stdout or r.stderr)!r}")
    expected = T(f"退出码 0" + (f"，页面含 {expect_body!r}（{label.zh}）" if expect_body else ""),
                 f"exit code 0" + (f" and a page with {expect_body!r} ({label.en})" if expect_body else ""))

    def fail(zh: str, en: str) -> Outcome:
        return failed(T(f"从 {pod} 访问 {target}：{zh}", f"from {pod}, {target}: {en}"), expected=expected, observed=observed)

    if _no_binary(r, "wget"):
        return fail("Pod 中没有 wget 命令（换用带 wget 的镜像，如 busybox）", "there is no wget in the pod (use an image with it, such as busybox)")
    if r.failure == "timeout":
        return fail("wget 在时限内没有完成", "wget did not finish in time")
    if r.exit_code == 0:
        if expect_body is None or expect_body in (r.stdout or ""):
            return passed(T(f"从 {pod} 访问 {target} 得到了{label.zh}", f"from {pod}, {target} returned {label.en}"), observed=observed)
        return fail(f"返回的不是{label.zh}", f"the page is not {label.en}")
    if "bad address" in err or "unable to resolve" in err or "name or service not known" in err:
        return fail("域名无法解析", "the name does not resolve")
    if "refused" in err:
        return fail("连接被拒绝（端口上没有服务）", "the connection was refused (nothing listens there)")
    if "timed out" in err or "timeout" in err:
        return fail("连接超时", "the connection timed out")
    if "404" in err or "server returned error" in err:
        return fail("服务器返回了错误", "the server returned an error")
    if r.exit_code is None:
        return error(T(f"命令没有返回退出码：{r.failure}", f"the command gave no exit code: {r.failure}"))
    return fail(f"wget 以退出码 {r.exit_code} 失败", f"wget failed with exit code {r.exit_code}")


def _ready_ips(ctx: CheckContext, svc: dict[str, Any], v6: bool) -> list[str]:
    return sorted({b.ip for b in k8s.service_backends(ctx.view, svc)[0]
                   if b.ready and (ipaddress.ip_address(b.ip).version == 6) == v6})


@check("dns.lookup", live=True,
       reads=lambda p: _svc_reads(p.get("name") or "", p.get("expect") if isinstance(p.get("expect"), list) else [],
                                  extra=("Service",) if p.get("service") else ()))
def dns_lookup(
    ctx: CheckContext,
    name: str,
    type: Literal["A", "AAAA", "SRV", "PTR"] = "A",  # noqa: A002 - the DNS word
    expect: Literal["cluster-ip", "endpoints", "nxdomain", "any"] | list[str] = "any",
    service: str | None = None,
    port: int | None = None,
    cluster_domain: str = "cluster.local",
    what: dict[str, str] | None = None,
) -> Outcome:
    """Ask the cluster DNS a question and compare the answer with the cluster's own state.

    Why: CoreDNS answers from Services and their endpoints, so the right
    answer is known from the objects: a ClusterIP for a normal Service, the
    ready pods' own IPs for a headless one, an SRV record per ready endpoint
    for a named port, a name per pod.

    Parameters:
        name: the name to ask, a template (``{{ service_dns(web) }}``, ``_http._tcp.{{ service_dns(web-headless) }}``, ``{{ pod_dns(web-headless, first) }}``)
        type: A, AAAA, SRV or PTR
        expect: ``cluster-ip`` / ``endpoints`` (of ``service``), ``nxdomain``, ``any`` (some answer), or a list of answers (templates)
        service: the Service whose ClusterIP or endpoints are expected
        port: for SRV, the port every record must carry
        cluster_domain: the cluster's DNS domain
        what: ``{zh, en}``: what the answer is, for the messages

    Reads: Pod (and Service, Endpoints, EndpointSlice with ``service`` or when a template names a Service)

    Passes: NOERROR with exactly the expected answers (for SRV: one record per ready endpoint, each with ``port``), or NXDOMAIN when that is expected.

    Fails: "DNS gives the wrong answer for web.default.svc.cluster.local" with expected and observed answers;
        "no DNS record for ..."; "no Service web" when ``service`` is missing.

    Partial credit: none.
    """
    if not _DOMAIN.match(cluster_domain):
        return error(T("集群域名不合法", "the cluster domain is not a valid DNS name"))
    if expect in ("cluster-ip", "endpoints") and not service:
        return error(T("expect 为 cluster-ip 或 endpoints 时需要 service", "expect cluster-ip or endpoints needs service"))
    rendered = _render(ctx, [name] + (list(expect) if isinstance(expect, list) else []), None, cluster_domain)
    if isinstance(rendered, Outcome):
        return rendered
    qname, want_list = rendered[0].rstrip("."), rendered[1:]
    if not re.match(r"^[A-Za-z0-9_.-]+$", qname):
        return error(T(f"要查询的名称不合法：{qname!r}", f"not a valid name to ask: {qname!r}"))
    want: list[str] | None = None
    if expect in ("cluster-ip", "endpoints"):
        svc = ctx.view.get("Service", ctx.namespace, service or "")
        if svc is None:
            return k8s.not_found(ctx.view, ctx.namespace, "Service", service or "")
        if expect == "cluster-ip":
            want = sorted(ip for ip in k8s.spec(svc).get("clusterIPs") or [k8s.spec(svc).get("clusterIP")]
                          if ip and ip != "None" and (ipaddress.ip_address(ip).version == 6) == (type == "AAAA"))
        else:
            want = _ready_ips(ctx, svc, type == "AAAA")
    elif isinstance(expect, list):
        want = sorted(want_list)
    r = ctx.view.dns(qname, type)
    label = _what(what, "DNS 回答", "the DNS answer")
    answers = sorted(set(r.answers))
    observed = T(f"{r.rcode or r.failure}：{', '.join(answers) or '-'}", f"{r.rcode or r.failure}: {', '.join(answers) or '-'}")
    if r.rcode is None:
        return error(T(f"DNS 查询 {qname} 没有得到回答：{r.failure}", f"no DNS answer for {qname}: {r.failure}"))
    if expect == "nxdomain":
        if r.rcode == "NXDOMAIN":
            return passed(T(f"{qname} 不存在（NXDOMAIN），符合要求", f"{qname} does not exist (NXDOMAIN), as expected"), observed=observed)
        return failed(T(f"{qname} 不应存在", f"{qname} should not exist"), expected=T("NXDOMAIN", "NXDOMAIN"), observed=observed)
    if type == "SRV":
        return _judge_srv(ctx, qname, r.rcode, answers, want, port, service, label, observed)
    if want is None:
        ok = r.rcode == "NOERROR" and bool(answers)
        expected = T(f"{qname} 有 {type} 记录", f"{type} records for {qname}")
    else:
        ok = r.rcode == "NOERROR" and answers == want and bool(want)
        expected = T(f"{qname} → {', '.join(want) or '-'}（{label.zh}）", f"{qname} → {', '.join(want) or '-'} ({label.en})")
    if ok:
        return passed(T(f"DNS 对 {qname} 的回答正确（{label.zh}）", f"DNS answers {qname} correctly ({label.en})"), observed=observed)
    if r.rcode == "NXDOMAIN" or not answers:
        return failed(T(f"DNS 中没有 {qname} 的 {type} 记录", f"no DNS {type} record for {qname}"), expected=expected, observed=observed)
    return failed(T(f"DNS 对 {qname} 的回答不对", f"DNS gives the wrong answer for {qname}"), expected=expected, observed=observed)


def _judge_srv(ctx: CheckContext, qname: str, rcode: str, answers: list[str], want: list[str] | None,
               port: int | None, service: str | None, label: T, observed: T) -> Outcome:
    """SRV answers are ``priority weight port target``: every record must
    carry ``port``, and there must be one per expected target (the ready
    endpoints of ``service``, or the listed names)."""
    records = []
    for a in answers:
        parts = a.split()
        if len(parts) == 4 and parts[2].isdigit():
            records.append((int(parts[2]), parts[3].rstrip(".")))
    want_n = len(want) if want is not None else None
    expected = T(f"{qname} 的 SRV 记录" + (f"，端口 {port}" if port else "") + (f"，{want_n} 条" if want_n is not None else ""),
                 f"SRV records for {qname}" + (f" with port {port}" if port else "") + (f", {want_n} of them" if want_n is not None else ""))
    if rcode != "NOERROR" or not records:
        return failed(T(f"DNS 中没有 {qname} 的 SRV 记录", f"no DNS SRV record for {qname}"), expected=expected, observed=observed)
    wrong_port = [t for p, t in records if port is not None and p != port]
    if wrong_port:
        return failed(T(f"{qname} 的 SRV 记录端口不是 {port}", f"{qname}'s SRV records do not carry port {port}"),
                      expected=expected, observed=observed)
    if want is not None and len(records) != len(want):
        return failed(T(f"{qname} 有 {len(records)} 条 SRV 记录，应为 {len(want)} 条",
                        f"{qname} has {len(records)} SRV records, expected {len(want)}"), expected=expected, observed=observed)
    return passed(T(f"DNS 对 {qname} 的 SRV 回答正确（{label.zh}）", f"DNS answers SRV {qname} correctly ({label.en})"), observed=observed)
