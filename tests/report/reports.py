"""Small builders of GradeReports for the reporter tests.

``service_discovery()`` is a typical student run of the Service-discovery
lab: deployment1 left at 3 replicas, service1 selecting only deployment1's
pods, service2 selecting every pod, a DNS probe the grader could not run,
and no dump yet for the cleaned phase. It totals 62/100 with 15 points not
graded. ``hostile()`` puts one attacker-chosen string into every text field.
"""
from __future__ import annotations

from grader.i18n import Text
from grader.outcome import (
    CheckResult,
    GradeReport,
    Outcome,
    SourceInfo,
    StepResult,
    error,
    failed,
    passed,
    skipped,
)

LAB = "service-discovery"


def text(zh: str, en: str | None = None) -> Text:
    return Text(zh, zh if en is None else en)


def check(
    id: str,
    outcome: Outcome,
    points: float,
    title: Text,
    *,
    use: str = "deployment.replicas",
    hint: Text = Text("", ""),
    duration: float = 0.25,
    attempts: int = 1,
) -> CheckResult:
    earned = round(points * outcome.score, 4) if outcome.graded else 0.0
    return CheckResult(id, use, title, hint, float(points), earned, outcome, duration, attempts)


def step(id: str, title: Text, checks: list[CheckResult], phase: str = "built") -> StepResult:
    return StepResult(id, phase, title, float(sum(c.points for c in checks)), tuple(checks))


def report(steps: list[StepResult], **fields: object) -> GradeReport:
    base: dict[str, object] = {
        "lab": LAB,
        "title": Text("Service服务发现", "Service discovery"),
        "namespace": "default",
        "rubric_version": "2024.1",
        "steps": tuple(steps),
        "sources": (
            SourceInfo("baseline", "snapshot", "dumps/alice/baseline.yaml", "2024-05-06T09:00:00Z"),
            SourceInfo("built", "snapshot", "dumps/alice/built.yaml", "2024-05-06T10:12:00Z"),
        ),
        "generated_at": "2024-05-06T10:15:00Z",
        "duration": 12.5,
        "student": "alice",
    }
    base.update(fields)
    return GradeReport(**base)  # type: ignore[arg-type]


def _ok(en: str, zh: str) -> Outcome:
    return passed(Text(zh, en))


def deployment1_replicas_failed() -> CheckResult:
    return check(
        "deployment1-replicas",
        failed(
            Text("deployment1 有 3 个副本，期望 2 个", "deployment1 has 3 replicas, expected 2"),
            expected=Text("2 个副本", "2 replicas"),
            observed=Text("3 个副本（3 个就绪）", "3 replicas (3 ready)"),
        ),
        5,
        Text("deployment1 有 2 个副本", "deployment1 has 2 replicas"),
        hint=Text("用 kubectl scale deployment deployment1 --replicas=2 调整副本数", "Adjust with kubectl scale deployment deployment1 --replicas=2"),
    )


def service_discovery() -> GradeReport:
    step1 = step(
        "step1",
        Text("创建deployment1（2副本，httpd）", "Create deployment1 (2 replicas, httpd)"),
        [
            check("deployment1-exists", _ok("deployment1 exists", "deployment1 已存在"), 3, Text("deployment1 存在", "deployment1 exists"), use="deployment.exists"),
            deployment1_replicas_failed(),
            check("deployment1-image", _ok("image is httpd", "镜像为 httpd"), 4, Text("deployment1 使用 httpd 镜像", "deployment1 runs httpd"), use="deployment.image"),
            check("deployment1-pods", _ok("3 pods owned", "3 个 pod"), 3, Text("deployment1 的 pod 在运行", "deployment1's pods are running"), use="deployment.pods"),
        ],
    )
    step2 = step(
        "step2",
        Text("创建deployment2（3副本，httpd）", "Create deployment2 (3 replicas, httpd)"),
        [
            check("deployment2-exists", _ok("deployment2 exists", "deployment2 已存在"), 3, Text("deployment2 存在", "deployment2 exists")),
            check("deployment2-replicas", _ok("3 replicas", "3 个副本"), 5, Text("deployment2 有 3 个副本", "deployment2 has 3 replicas")),
            check("deployment2-image", _ok("image is httpd", "镜像为 httpd"), 4, Text("deployment2 使用 httpd 镜像", "deployment2 runs httpd")),
            check("deployment2-pods", _ok("3 pods owned", "3 个 pod"), 3, Text("deployment2 的 pod 在运行", "deployment2's pods are running")),
        ],
    )
    step3 = step(
        "step3",
        Text("创建service1，后端为两个deployment的所有pod", "Create service1 backed by all pods of both deployments"),
        [
            check("service1-exists", _ok("service1 exists", "service1 已存在"), 4, Text("service1 存在", "service1 exists"), use="service.exists"),
            check(
                "service1-endpoints",
                failed(
                    Text("service1 只选中了 deployment1 的 pod", "service1 selects only deployment1's pods"),
                    expected=Text("deployment1 和 deployment2 的全部 6 个 pod", "all 6 pods of deployment1 and deployment2"),
                    observed=Text("3 个端点：全部来自 deployment1", "3 endpoints, all owned by deployment1"),
                    score=0.5,
                    notes=(Text("选择器：app=deployment1", "selector: app=deployment1"),),
                ),
                12,
                Text("service1 的端点是两个 deployment 的所有 pod", "service1's endpoints are all pods of both deployments"),
                use="service.endpoints",
                hint=Text("两个 deployment 的 pod 需要一个共同的标签", "Give both deployments' pods a label in common"),
            ),
            check("service1-port", _ok("port 80", "端口 80"), 4, Text("service1 暴露 80 端口", "service1 exposes port 80"), use="service.port"),
        ],
    )
    step4 = step(
        "step4",
        Text("创建service2，后端为每个deployment的第一个pod", "Create service2 backed by the first pod of each deployment"),
        [
            check("service2-exists", _ok("service2 exists", "service2 已存在"), 4, Text("service2 存在", "service2 exists"), use="service.exists"),
            check(
                "service2-endpoints",
                failed(
                    Text("service2 有 6 个端点，期望每个 deployment 各 1 个", "service2 has 6 endpoints, expected one pod of each deployment"),
                    expected=Text("deployment1 的 1 个 pod 和 deployment2 的 1 个 pod", "1 pod of deployment1 and 1 pod of deployment2"),
                    observed=Text("deployment1 的 3 个 pod，deployment2 的 3 个 pod", "3 pods of deployment1, 3 pods of deployment2"),
                ),
                12,
                Text("service2 的端点是每个 deployment 的一个 pod", "service2's endpoints are one pod of each deployment"),
                use="service.endpoints",
                hint=Text("给两个 pod 单独打标签（kubectl label pod <名字> svc2=yes）并用它做选择器", "Label two single pods (kubectl label pod <name> svc2=yes) and select on that label"),
            ),
            check("service2-port", _ok("port 80", "端口 80"), 4, Text("service2 暴露 80 端口", "service2 exposes port 80"), use="service.port"),
        ],
    )
    step5 = step(
        "step5",
        Text("在clientpod中用域名访问service2的第一个pod", "From clientpod, reach service2's first pod by DNS name"),
        [
            check("clientpod-running", _ok("clientpod is running", "clientpod 正在运行"), 5, Text("clientpod 在运行", "clientpod is running"), use="pod.running"),
            check(
                "clientpod-wget-service2",
                passed(
                    Text("wget 拿到了 httpd 的首页", "wget fetched the httpd page"),
                    observed=Text("<html><body><h1>It works!</h1></body></html>\n", "<html><body><h1>It works!</h1></body></html>\n"),
                ),
                10,
                Text("clientpod 用 wget 访问 service2", "clientpod reaches service2 with wget"),
                use="exec.http_get",
                duration=1.75,
            ),
            check(
                "service1-dns",
                error(
                    Text("DNS 查询超时（5 秒）", "DNS lookup timed out after 5s"),
                    notes=(Text("CoreDNS 没有应答", "CoreDNS did not answer"),),
                ),
                0,
                Text("service1 可以被解析", "service1 resolves"),
                use="dns.resolves",
                duration=5.0,
                attempts=3,
            ),
            check("service2-dns", _ok("2 addresses", "2 个地址"), 0, Text("service2 可以被解析", "service2 resolves"), use="dns.resolves"),
        ],
    )
    not_dumped = Text("没有 cleaned 阶段的集群状态，未评分", "no cluster state for phase 'cleaned'; not graded")
    step6 = step(
        "step6",
        Text("删除实验创建的资源，保留kubernetes服务", "Delete what the lab created, keep the kubernetes service"),
        [
            check("deployments-deleted", skipped(not_dumped, graded=False), 3, Text("deployment 已删除", "deployments deleted"), use="cleanup.deleted"),
            check("pods-deleted", skipped(not_dumped, graded=False), 3, Text("pod 已删除", "pods deleted"), use="cleanup.deleted"),
            check("services-deleted", skipped(not_dumped, graded=False), 3, Text("service 已删除", "services deleted"), use="cleanup.deleted"),
            check("kubernetes-service-intact", skipped(not_dumped, graded=False), 6, Text("kubernetes 服务未被删除", "the kubernetes service was never deleted"), use="cleanup.kubernetes_service_intact"),
        ],
        phase="cleaned",
    )
    return report([step1, step2, step3, step4, step5, step6])


def prerequisite_skipped() -> CheckResult:
    """A check skipped because its step's prerequisite failed: points lost."""
    return check(
        "service2-endpoints",
        skipped(Text("因为步骤1未通过而跳过", "skipped because step1 failed"), graded=True),
        12,
        Text("service2 的端点是每个 deployment 的一个 pod", "service2's endpoints are one pod of each deployment"),
        use="service.endpoints",
    )


def hostile(s: str) -> GradeReport:
    """Every text field, id and location set to ``s``, one check per status."""
    t = Text(s, s)
    outcomes = [
        failed(t, expected=t, observed=t, notes=(t, t), score=0.5),
        error(t, notes=(t,)),
        skipped(t, graded=False),
        passed(t, observed=t),
    ]
    checks = [
        CheckResult(f"{s}-{i}", s, t, t, 4.0, round(4.0 * o.score, 4) if o.graded else 0.0, o, 0.5)
        for i, o in enumerate(outcomes)
    ]
    return GradeReport(
        lab=s,
        title=t,
        namespace=s,
        rubric_version=s,
        steps=(StepResult(s, s, t, 16.0, tuple(checks)),),
        sources=(SourceInfo(s, s, s, s),),
        generated_at=s,
        duration=1.0,
        student=s,
    )


# Strings an attacker (or an unlucky exec) puts into names, labels and output.
HOSTILE = {
    "ansi": "\x1b[2J\x1b[31mPASSED\x1b[0m\x1b]0;owned\x07\x1bc",
    "control": "a\x00b\x07c\x08d\x0be\x0cf\x7fg\x85h\x9bi",
    "cdata": "]]> <![CDATA[ x ]]> </failure>",
    "markup": '<script>alert("x")</script> & \'quotes\' "dq"',
    "bidi": "safe\u202etxt.exe\u2066\u2069\u202a",
    "emoji": "pod-😀-𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "surrogates": "bad\ud800bytes\udcff",
    "nonchar": "x\ufffey\uffffz\U0001fffe",
    "crlf": "line1\r\nline2\rline3\n\tindented",
    "cjk": "副本数不对：期望２个",
}
