"""The observer's dashboard: one page, live through server-sent events, on 127.0.0.1.

aiohttp because the project already runs it (the stand-in API server) and
it serves a streaming response (SSE) and the page from one small app with
no other dependency; SSE rather than a websocket because the page only
listens, reconnects by itself (``EventSource``) and passes proxies as plain
HTTP. The page is self-contained (inline CSS and script, no CDN, no
fonts), bilingual (zh/en, switched in the page), and puts every string a
student controls into the DOM with ``textContent``.

On a loopback address it answers only requests addressed to a loopback
host (``Host: 127.0.0.1:PORT``, ``localhost``, ``[::1]``): a page on another
site whose name the attacker's DNS turns to 127.0.0.1 after it loaded (DNS
rebinding) is same-origin with the dashboard, and would read every
student's name, namespace and evidence; its requests carry its own name.

Routes: ``/`` the page, ``/state`` the class as JSON, ``/events`` the SSE
stream (the state again after every re-grade), ``/student/<id>`` one
student's steps, checks and evidence.
"""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>labgrade observe</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1rem;color:#222}
h1{font-size:1.2rem;margin:.2rem 0}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.2rem .4rem;text-align:center}
td.name{text-align:left;cursor:pointer;text-decoration:underline}
td.done{background:#2e7d32;color:#fff}
td.todo{background:#eee}
td.error{background:#f9a825}
td.waiting,td.waiting-phase{background:#bbdefb}
#bar{display:flex;gap:1rem;align-items:center}
#hist{display:flex;gap:2px;align-items:flex-end;height:60px}
#hist div{background:#1565c0;width:18px}
#detail{border-top:1px solid #ccc;margin-top:1rem;white-space:pre-wrap}
.muted{color:#777}
</style></head>
<body>
<div id="bar"><h1 id="title">labgrade observe</h1>
<button id="lang" type="button">English</button>
<span id="live" class="muted">…</span></div>
<table id="grid"><thead><tr id="head"></tr></thead><tbody id="rows"></tbody></table>
<h2 id="h-hist">分数分布</h2><div id="hist"></div>
<h2 id="h-failed">未通过最多的检查</h2><ol id="failed"></ol>
<div id="detail"></div>
<script>
"use strict";
let lang = (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
let state = null;
const W = {zh: {student: "学生", hist: "分数分布", failed: "未通过最多的检查", live: "实时",
                 lost: "连接中断，正在重连", done: "完成", todo: "未完成", error: "出错", waiting: "等待",
                 other: "English"},
           en: {student: "Student", hist: "Score distribution", failed: "Most-failed checks",
                live: "live", lost: "connection lost, reconnecting", done: "done", todo: "not yet",
                error: "error", waiting: "waiting", other: "中文"}};
function tr(t) { return t ? (t[lang] || t.en || "") : ""; }
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls; return e; }
function draw() {
  if (!state) return;
  document.documentElement.lang = lang;
  document.getElementById("title").textContent = tr(state.title);
  document.getElementById("lang").textContent = W[lang].other;
  document.getElementById("h-hist").textContent = W[lang].hist;
  document.getElementById("h-failed").textContent = W[lang].failed;
  const head = document.getElementById("head"); head.replaceChildren(el("th", W[lang].student));
  for (const s of state.steps) { const th = el("th", s.id); th.title = tr(s.title); head.appendChild(th); }
  // not "Total": the points of the steps the ledger records, not the gradebook's points per check
  const score = el("th", tr(state.score.label)); score.title = tr(state.score.note); score.id = "score-head";
  head.appendChild(score);
  const rows = document.getElementById("rows"); rows.replaceChildren();
  for (const st of state.students) {
    const tr_ = el("tr"); tr_.id = "row-" + st.id;
    const name = el("td", st.name ? st.id + " " + st.name : st.id, "name");
    name.onclick = () => detail(st.id); tr_.appendChild(name);
    for (const s of state.steps) {
      const v = st.steps[s.id] || "waiting";
      const td = el("td", (W[lang][v] || v), v); td.dataset.state = v; td.id = "cell-" + st.id + "-" + s.id;
      tr_.appendChild(td);
    }
    tr_.appendChild(el("td", st.error ? tr(st.error) : (st.earned === null ? "…" : st.earned + "/" + state.total)));
    rows.appendChild(tr_);
  }
  const hist = document.getElementById("hist"); hist.replaceChildren();
  const most = Math.max(1, ...state.histogram.counts);
  state.histogram.counts.forEach((n, i) => { const d = el("div"); d.style.height = (60 * n / most) + "px";
    d.title = (i * 100 / state.histogram.bins) + "%: " + n; hist.appendChild(d); });
  const failed = document.getElementById("failed"); failed.replaceChildren();
  for (const f of state.most_failed) failed.appendChild(el("li", f.check + " — " + tr(f.title) + " (" + f.students + ")"));
}
async function detail(id) {
  const r = await fetch("student/" + encodeURIComponent(id)); if (!r.ok) return;
  const d = await r.json(); const box = document.getElementById("detail"); box.replaceChildren();
  box.appendChild(el("h2", d.id + " " + (d.name || "") + " · " + d.namespace));
  const sep = lang === "zh" ? "：" : ": ";
  if (d.error) box.appendChild(el("p", W[lang].error + sep + tr(d.error), "error"));
  if (d.score) { box.appendChild(el("p", tr(d.score.label) + sep + d.earned + "/" + (state ? state.total : "?")));
    box.appendChild(el("p", tr(d.score.note), "muted")); }
  for (const s of d.steps) {
    box.appendChild(el("h3", s.id + " " + tr(s.title) + " — " + (W[lang][s.state] || s.state)));
    for (const c of s.checks) box.appendChild(el("div", "[" + c.status + "] " + tr(c.title) + ": " + tr(c.message) +
      (c.expected ? "\\n  expected: " + tr(c.expected) : "") + (c.observed ? "\\n  observed: " + tr(c.observed) : "")));
  }
}
document.getElementById("lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; draw(); };
const live = document.getElementById("live");
const events = new EventSource("events");
events.addEventListener("state", (e) => { state = JSON.parse(e.data); live.textContent = W[lang].live + " · v" + state.version;
  document.body.dataset.version = state.version; draw(); });
events.onerror = () => { live.textContent = W[lang].lost; };
</script></body></html>
"""


def _loopback(host: str) -> bool:
    import ipaddress

    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and "]" in host:
        host = host[1:host.index("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_app(observer: Any, *, loopback_only: bool = True) -> Any:
    """``loopback_only``: refuse (403) a request whose Host is not a loopback
    name or address (see the module docstring); off when the dashboard
    listens on another address, whose names are the deployment's."""
    from aiohttp import web

    @web.middleware
    async def addressed_here(request: Any, handler: Any) -> Any:
        if loopback_only and not _loopback(request.headers.get("Host", "")):
            raise web.HTTPForbidden(text="labgrade observe answers requests to 127.0.0.1 or localhost only\n")
        return await handler(request)

    async def page(_request: Any) -> Any:
        return web.Response(text=PAGE, content_type="text/html", charset="utf-8",
                            headers={"Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                                                                "script-src 'unsafe-inline'"})

    async def state(_request: Any) -> Any:
        return web.json_response(observer.snapshot())

    async def student(request: Any) -> Any:
        found = observer.detail(request.match_info["sid"])
        if found is None:
            raise web.HTTPNotFound()
        return web.json_response(found)

    async def events(request: Any) -> Any:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        loop = asyncio.get_running_loop()
        version = -1
        try:
            while True:
                if observer.version != version:
                    snap = observer.snapshot()
                    version = snap["version"]
                    await resp.write(f"event: state\ndata: {json.dumps(snap, ensure_ascii=False)}\n\n".encode())
                else:
                    await resp.write(b": keep-alive\n\n")
                # wait in a thread for the next re-grade (at most 15 s, then a keep-alive)
                await loop.run_in_executor(None, observer.wait_for, version, 15.0)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        return resp

    app = web.Application(middlewares=[addressed_here])
    app.router.add_get("/", page)
    app.router.add_get("/state", state)
    app.router.add_get("/events", events)
    app.router.add_get("/student/{sid}", student)
    return app


class Dashboard:
    """The app on 127.0.0.1:``port`` (0: any free port) on an event loop of its own."""

    def __init__(self, observer: Any, port: int = 0, host: str = "127.0.0.1"):
        self.observer = observer
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> "Dashboard":
        from aiohttp import web

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="labgrade-dashboard", daemon=True)
        self._thread.start()

        async def up() -> None:
            self._runner = web.AppRunner(make_app(self.observer, loopback_only=_loopback(self.host)), access_log=None,
                                         handle_signals=False, shutdown_timeout=0.5)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
            self.port = self._runner.addresses[0][1]

        asyncio.run_coroutine_threadsafe(up(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        except Exception:  # noqa: BLE001 - shutting down anyway
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop = None
