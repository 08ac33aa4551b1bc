"""The HTML report: what the page says, that hostile report strings stay
text, and (when Chromium is installed) that a real browser renders it."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

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
from grader.report.html_report import LIMIT, to_html
from grader.report.wording import HINT, NOT_YOUR_FAULT
from tests.report.reports import HOSTILE, hostile, service_discovery

# --------------------------------------------------------------------------
# Building reports by hand


def _check(id: str, outcome: Outcome, points: float, title: Text, hint: Text = Text("", ""), use: str = "x") -> CheckResult:
    earned = round(points * outcome.score, 4) if outcome.graded else 0.0
    return CheckResult(id, use, title, hint, float(points), earned, outcome, 0.5, 1)


def _step(id: str, title: Text, checks: list[CheckResult], phase: str = "built") -> StepResult:
    return StepResult(id, phase, title, float(sum(c.points for c in checks)), tuple(checks))


STEP1 = Text("创建deployment1（2副本，httpd）", "Create deployment1 (2 replicas, httpd)")
STEP4 = Text("创建service2，后端为每个deployment的第一个pod", "Create service2 backed by the first pod of each deployment")
STEP5 = Text("在clientpod中使用域名访问service2中第一个pod", "From clientpod, reach service2's first pod by DNS name")
STEP6 = Text("删除本次实验创建的pod，deployment和service", "Delete the lab's pods, deployments and services")

PASS_TITLE = Text("deployment1 有 2 个副本", "deployment1 has 2 replicas")
PASS_MSG = Text("deployment1 有 2 个就绪副本", "deployment1 has 2 ready replicas")
PASS_HINT = Text("用 kubectl scale 调整副本数", "Adjust with kubectl scale")

FAIL_TITLE = Text("service2 的端点是每个 deployment 的一个 pod", "service2's endpoints are one pod of each deployment")
FAIL_MSG = Text(
    "service2 有 3 个端点：web-1、web-2、api-1；期望 deployment1 和 deployment2 各一个 pod",
    "service2 has 3 endpoints: web-1, web-2, api-1; expected one pod of deployment1 and one of deployment2",
)
FAIL_EXPECTED = Text("deployment1 的 1 个 pod 和 deployment2 的 1 个 pod", "1 pod of deployment1 and 1 pod of deployment2")
FAIL_OBSERVED = Text("deployment1 的 2 个 pod，deployment2 的 1 个 pod", "2 pods of deployment1, 1 pod of deployment2")
FAIL_NOTE = Text("选择器：app=httpd", "selector: app=httpd")
FAIL_HINT = Text("给两个 pod 单独打标签（kubectl label pod <名字> svc2=yes）", "Label two single pods (kubectl label pod <name> svc2=yes)")

ERR_TITLE = Text("clientpod 用 wget 访问 service2", "clientpod reaches service2 with wget")
ERR_MSG = Text("exec 超时（10 秒）", "exec timed out after 10s")
ERR_HINT = Text("用 wget -qO- http://service2 试试", "Try wget -qO- http://service2")

SKIP_TITLE = Text("kubernetes 服务未被删除", "the kubernetes service was never deleted")
SKIP_MSG = Text("没有 cleaned 阶段的集群状态，未评分", "no cluster state for phase 'cleaned'; not graded")

PREREQ_TITLE = Text("service2 存在", "service2 exists")
PREREQ_MSG = Text("因为步骤1未通过而跳过", "skipped because step1 failed")


def lab_report(student: str | None = "alice") -> GradeReport:
    """A run with one check of each kind: 15/50, 20 points not graded."""
    steps = (
        _step("step1", STEP1, [_check("deployment1-replicas", passed(PASS_MSG, observed=Text("2 个副本", "2 replicas")), 10, PASS_TITLE, PASS_HINT)]),
        _step(
            "step4",
            STEP4,
            [
                _check(
                    "service2-endpoints",
                    failed(FAIL_MSG, expected=FAIL_EXPECTED, observed=FAIL_OBSERVED, notes=(FAIL_NOTE,), score=0.5),
                    10,
                    FAIL_TITLE,
                    FAIL_HINT,
                ),
                _check("service2-exists", skipped(PREREQ_MSG, graded=True), 10, PREREQ_TITLE),
            ],
        ),
        _step("step5", STEP5, [_check("clientpod-wget", error(ERR_MSG), 10, ERR_TITLE, ERR_HINT)]),
        _step("step6", STEP6, [_check("kubernetes-service-intact", skipped(SKIP_MSG, graded=False), 10, SKIP_TITLE)], phase="cleaned"),
    )
    return GradeReport(
        lab="service-discovery",
        title=Text("Service服务发现", "Service discovery"),
        namespace="lab-ns",
        rubric_version="2024.1",
        steps=steps,
        sources=(SourceInfo("built", "snapshot", "dumps/alice/built.yaml", "2024-05-06T10:12:00Z"),),
        generated_at="2024-05-06T10:15:00Z",
        student=student,
    )


# --------------------------------------------------------------------------
# A small DOM from html.parser, strict about nesting


VOID = {"meta", "br", "hr", "img", "input", "link"}


class Node:
    def __init__(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag, self.attrs, self.children = tag, dict(attrs), []  # type: list

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find(self, tag: str | None = None, cls: str | None = None) -> list["Node"]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [])
        self.stack = [self.root]
        self.problems: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, attrs))

    def handle_endtag(self, tag):
        if self.stack[-1].tag != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1].tag}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


def parse(page: str) -> Node:
    tree = Tree()
    tree.feed(page)
    tree.close()
    assert not tree.problems, tree.problems
    assert [n.tag for n in tree.stack] == ["#root"], "unclosed elements"
    assert not tree.comments
    return tree.root


def squash(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def check_items(root: Node) -> list[Node]:
    return root.find("li", "check")


# --------------------------------------------------------------------------
# What the page says


@pytest.mark.parametrize("lang,html_lang", [("zh", "zh-CN"), ("en", "en")])
def test_a_complete_self_contained_page(lang: str, html_lang: str) -> None:
    page = to_html(lab_report(), lang)
    assert page.startswith("<!DOCTYPE html>\n")
    root = parse(page)
    (html_el,) = root.find("html")
    assert html_el.attrs["lang"] == html_lang
    metas = root.find("meta")
    assert {"charset": "utf-8"} in [m.attrs for m in metas]
    assert any(m.attrs.get("name") == "viewport" for m in metas)
    csp = [m.attrs["content"] for m in metas if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "script-src" not in csp[0]
    # Nothing to fetch: no script, link, image, font, frame or remote URL.
    assert not root.find("script") and not root.find("link") and not root.find("img")
    assert not root.find("iframe") and not root.find("object")
    assert len(root.find("style")) == 1
    own = root.find("style")[0].text() + " ".join(str(v) for n in root.walk() for v in n.attrs.values())
    assert not re.search(r"https?:|//|url\(|@import|@font-face", own, re.I)
    assert page.encode("utf-8")  # no lone surrogate can be left


def test_header_total_student_namespace_and_progress_bar() -> None:
    root = parse(to_html(lab_report(), "zh"))
    (head,) = root.find("header", "head")
    text = squash(head.text())
    assert "Service服务发现" in text and "Service discovery" in text
    assert "alice" in text and "lab-ns" in text and "service-discovery" in text
    (total,) = root.find(cls="score")
    assert total.text() == "15/50"
    (bar,) = root.find(cls="bar")
    widths = [s.attrs["style"] for s in bar.find("span")]
    # 15 earned, 15 lost (5 on the failed check, 10 on the prerequisite skip), 20 not graded.
    assert widths == ["width:30%", "width:30%", "width:40%"]
    assert "(" not in "".join(widths)


def test_ungraded_points_are_explained_in_both_languages() -> None:
    root = parse(to_html(lab_report(), "en"))
    (note,) = root.find(cls="ungraded-note")
    text = squash(note.text())
    assert "20 points not graded, not counted as lost" in text
    assert "1 check could not be evaluated" in text
    assert "no cluster state for phase 'cleaned'" in text
    assert "20 分未评分，不算失分" in text and "没有清理之后的集群状态" in text


def test_no_ungraded_note_when_everything_was_graded() -> None:
    report = lab_report()
    steps = tuple(s for s in report.steps if s.id in ("step1", "step4"))
    page = to_html(GradeReport(report.lab, report.title, report.namespace, report.rubric_version, steps, report.sources), "zh")
    root = parse(page)
    assert not root.find(cls="ungraded-note")
    assert root.find(cls="score")[0].text() == "15/30"
    meta = root.find("dl", "meta")[0].text()
    assert "alice" not in meta and "学生" not in meta  # no student set: no student line


def test_chosen_language_first_and_the_other_under_it() -> None:
    for lang, first, second in (("zh", STEP4.zh, STEP4.en), ("en", STEP4.en, STEP4.zh)):
        root = parse(to_html(lab_report(), lang))
        (h2,) = [h for h in root.find("h2") if STEP4.zh in h.text()]
        primary = h2.find(cls="p")[0]
        secondary = h2.find(cls="s")[0]
        assert primary.text() == first and secondary.text() == second
        assert secondary.attrs["lang"] == ("en" if lang == "zh" else "zh-CN")


def test_every_student_facing_string_is_on_the_page_in_both_languages() -> None:
    report = lab_report()
    for lang in ("zh", "en"):
        text = parse(to_html(report, lang)).text()
        strings = [report.title, STEP1, STEP4, STEP5, STEP6, PASS_TITLE, PASS_MSG, FAIL_TITLE, FAIL_MSG, FAIL_EXPECTED,
                   FAIL_OBSERVED, FAIL_NOTE, FAIL_HINT, ERR_TITLE, ERR_MSG, ERR_HINT, SKIP_TITLE, SKIP_MSG,
                   PREREQ_TITLE, PREREQ_MSG, NOT_YOUR_FAULT, HINT]
        for t in strings:
            assert t.zh in text, (lang, t.zh)
            assert t.en in text, (lang, t.en)
        # The page's own words too: a Chinese label always has its English twin.
        for zh, en in (("总分", "Total"), ("命名空间", "Namespace"), ("期望", "Expected"), ("实际", "Observed"),
                       ("未通过", "failed"), ("出错", "error"), ("未评分", "not graded"), ("步骤概览", "Steps")):
            assert zh in text and en in text, (zh, en)


def test_failed_check_shows_evidence_notes_and_hint() -> None:
    root = parse(to_html(lab_report(), "zh"))
    (li,) = [c for c in check_items(root) if "failed" in c.classes and "blocked" not in c.classes]
    text = squash(li.text())
    assert "✗" in li.find(cls="icon")[0].text()
    assert FAIL_TITLE.zh in text
    assert "service2 has 3 endpoints: web-1, web-2, api-1; expected one pod of deployment1 and one of deployment2" in text
    (exp,) = li.find(cls="exp")
    assert "期望" in exp.find("dt")[0].text() and FAIL_EXPECTED.zh in exp.find("dd")[0].text()
    (obs,) = li.find(cls="obs")
    assert "实际" in obs.find("dt")[0].text() and FAIL_OBSERVED.en in obs.find("dd")[0].text()
    (note,) = li.find(cls="note")
    assert FAIL_NOTE.zh in note.text()
    (hint,) = li.find(cls="hint")
    assert FAIL_HINT.zh in hint.text() and FAIL_HINT.en in hint.text()
    assert "5/10" in li.find(cls="cpts")[0].text()


def test_passed_check_shows_no_hint() -> None:
    root = parse(to_html(lab_report(), "zh"))
    (li,) = [c for c in check_items(root) if "passed" in c.classes]
    assert "✓" in li.find(cls="icon")[0].text()
    assert PASS_MSG.zh in li.text() and "2 个副本" in li.text()
    assert not li.find(cls="hint") and PASS_HINT.zh not in li.text()
    assert "10/10" in li.text()


def test_error_check_says_no_points_were_taken_and_hints() -> None:
    root = parse(to_html(lab_report(), "zh"))
    (li,) = [c for c in check_items(root) if "error" in c.classes]
    text = li.text()
    assert ERR_MSG.zh in text and NOT_YOUR_FAULT.zh in text and NOT_YOUR_FAULT.en in text
    assert ERR_HINT.zh in text
    assert "–/10" in li.find(cls="cpts")[0].text()


def test_skipped_checks_show_their_reason_and_whether_points_are_lost() -> None:
    root = parse(to_html(lab_report(), "zh"))
    ungraded = [c for c in check_items(root) if "ungraded" in c.classes]
    assert len(ungraded) == 1
    text = ungraded[0].text()
    assert SKIP_MSG.zh in text and SKIP_MSG.en in text
    assert "未评分，不算失分" in text and "–/10" in text
    # Blocked by a failed prerequisite: styled as the failure it costs, labelled blocked.
    (lost,) = [c for c in check_items(root) if "blocked" in c.classes]
    assert "failed" in lost.classes and "前置未通过" in lost.text() and "blocked" in lost.text()
    assert PREREQ_MSG.zh in lost.text() and "此项不得分" in lost.text() and "0/10" in lost.text()
    # The cleaned step has nothing graded: its badge and points say so.
    (step6,) = [s for s in root.find("section", "step") if STEP6.zh in s.text()]
    assert "ungraded" in step6.classes
    assert step6.find(cls="spts")[0].text() == "–/10"


def test_steps_in_rubric_order_with_state_badges() -> None:
    root = parse(to_html(lab_report(), "en"))
    sections = root.find("section", "step")
    assert [s.attrs["id"] for s in sections] == ["s1", "s2", "s3", "s4"]
    assert [sorted(s.classes - {"step"}) for s in sections] == [["passed"], ["failed"], ["error"], ["ungraded"]]
    badges = [s.find(cls="badge")[0] for s in sections]
    assert [b.text()[0] for b in badges] == ["✓", "✗", "!", "–"]
    assert [(b.find(cls="p")[0].text(), b.find(cls="s")[0].text()) for b in badges] == [
        ("passed", "通过"), ("failed", "未通过"), ("error", "出错"), ("not graded", "未评分")]
    assert [s.find(cls="spts")[0].text() for s in sections] == ["10/10", "5/20", "–/10", "–/10"]
    overview = [a.attrs["href"] for a in root.find("nav")[0].find("a")]
    assert overview == ["#s1", "#s2", "#s3", "#s4"]


def test_same_report_same_bytes() -> None:
    assert to_html(lab_report(), "zh") == to_html(lab_report(), "zh")
    assert to_html(service_discovery(), "en") == to_html(service_discovery(), "en")
    assert to_html(lab_report(), "zh") != to_html(lab_report(), "en")


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        to_html(lab_report(), "fr")


def test_zero_points_and_no_steps() -> None:
    empty = GradeReport("lab", Text("空", "empty"), "ns", "1", ())
    root = parse(to_html(empty, "en"))
    assert root.find(cls="score")[0].text() == "0/0"
    assert "This rubric has no steps." in root.text()
    assert all(s.attrs["style"] == "width:0%" for s in root.find(cls="bar")[0].find("span"))


# --------------------------------------------------------------------------
# Hostile strings


ATTACKS = {
    **HOSTILE,
    "style": "</style><script>document.body.setAttribute('data-pwned','1')</script><style>",
    "attr": "\"><img src=x onerror=\"document.title='pwned'\">",
    "single": "'><svg onload=alert(1)>",
    "title": "</title><script>alert(1)</script>",
    "comment": "<!-- x --> <!--",
    "raw": "<textarea><plaintext><xmp>",
    "entity": "&amp;lt;script&amp;gt; &#60;script&#62; &lt;b&gt;",
    "nul_in_tag": "<scr\x00ipt>alert(1)</scr\x00ipt>",
}
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "dl", "div", "dt", "dd",
                "span", "b", "ul", "ol", "li", "p", "nav", "a", "section", "footer"}
ALLOWED_ATTRS = {"lang", "charset", "name", "content", "http-equiv", "class", "id", "style", "role", "aria-label",
                 "aria-hidden", "href"}


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_hostile_strings_stay_text(name: str, lang: str) -> None:
    s = ATTACKS[name]
    page = to_html(hostile(s), lang)
    page.encode("utf-8")  # strict: a lone surrogate would raise
    root = parse(page)
    for node in root.walk():
        if node.tag == "#root":
            continue
        assert node.tag in ALLOWED_TAGS, node.tag
        assert set(node.attrs) <= ALLOWED_ATTRS, node.attrs
        for value in node.attrs.values():
            # Attribute values are the page's own: no report text reaches them.
            assert value is not None and "pwned" not in value and "alert" not in value and "<" not in value
    assert len(root.find("style")) == 1 and len(root.find("title")) == 1
    assert not root.find("script") and not root.find("img") and not root.find("svg")
    # Controls other than \n and \t, bidi overrides and noncharacters are gone.
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff\U0001fffe]", page)
    # The visible text still carries the harmless part of the string.
    visible = root.find("main")[0].text()
    if name == "markup":
        assert '<script>alert("x")</script>' in visible
    if name == "cjk":
        assert "副本数不对：期望２个" in visible
    if name == "bidi":
        assert "safetxt.exe" in visible


def test_long_strings_are_cut() -> None:
    big = "A" * (LIMIT * 5)
    o = failed(Text(big, big), expected=Text("x", "x"), observed=Text(big, big))
    report = GradeReport("lab", Text("t", "t"), "ns", "1", (_step("s", Text("步", "s"), [_check("c", o, 1, Text("c", "c"))]),))
    page = to_html(report, "zh")
    longest = max(len(m) for m in re.findall("A+", page))
    assert longest == LIMIT
    assert f"… (+{LIMIT * 4})" in page
    assert len(page) < 40_000


def test_newlines_survive_in_evidence_and_crlf_is_normalised() -> None:
    out = Text("line1\r\nline2\rline3\n\tindented", "line1\r\nline2\rline3\n\tindented")
    o = failed(Text("m", "m"), observed=out)
    report = GradeReport("lab", Text("t", "t"), "ns", "1", (_step("s", Text("步", "s"), [_check("c", o, 1, Text("c", "c"))]),))
    root = parse(to_html(report, "en"))
    (dd,) = root.find(cls="obs")[0].find("dd")
    assert dd.text() == "line1\nline2\nline3\n\tindented"


# --------------------------------------------------------------------------
# A real browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
BROWSER_TIMEOUT = 30  # seconds per Chromium run; each takes about one


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium")
    assert exe is not None
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def test_chromium_renders_the_page(tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (CI: apt-get install -y --no-install-recommends chromium)")
    report = lab_report(student=ATTACKS["style"])
    page = tmp_path / "report.html"
    page.write_text(to_html(report, "zh"), encoding="utf-8")
    url = page.as_uri()

    dump = _chromium(tmp_path, "--dump-dom", url)
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = parse(dump.stdout)
    assert dom.find(cls="score")[0].text() == "15/50"
    text = dom.text()
    for title in (STEP1, STEP4, STEP5, STEP6):
        assert title.zh in text
    assert "service2 has 3 endpoints" in text
    # The hostile student name is on the page as text, and did nothing.
    assert "</style><script>document.body.setAttribute" in text
    assert not dom.find("script")
    assert all("data-pwned" not in n.attrs for n in dom.walk())
    assert dom.find("title")[0].text().endswith("15/50")

    shot = tmp_path / "report.png"
    run = _chromium(tmp_path, "--window-size=412,2000", f"--screenshot={shot}", url)
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (412, 2000)
    assert len(data) > 10_000  # a blank page compresses to far less
