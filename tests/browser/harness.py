"""The browser-test harness's parts that tests import: the site server, the build
check and the parse-worker client (fixtures in conftest.py wrap them), and a
page.wait_for_function that works under the page's Content-Security-Policy."""
import base64
import datetime
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# WETRON_DIST builds and serves another folder (e.g. one per working copy)
DIST = os.path.abspath(os.environ.get("WETRON_DIST", os.path.join(REPO, "dist")))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--enable-unsafe-swiftshader"]
PREFIX = "/wetron/"
BLANK = "_test/blank.html"     # a test-only empty page inside the site (not in dist/)
SHARED = "_test/files/"        # test-only: local files handed to the page by URL

# sources whose change means dist/ must be rebuilt before the browser tests use it
SOURCES = ["index.html", "app", "py/wetron", "build.py", "examples"]


# --- the site ----------------------------------------------------------------------

def _newest_source():
    newest = 0.0
    for rel in SOURCES:
        path = os.path.join(REPO, rel)
        for folder, _dirs, names in os.walk(path) if os.path.isdir(path) else [("", [], [path])]:
            for name in names:
                full = os.path.join(folder, name)
                if os.path.exists(full) and "__pycache__" not in full:
                    newest = max(newest, os.path.getmtime(full))
    return newest


def ensure_built():
    """Build dist/ if it is missing or older than its sources (test.sh builds first;
    this keeps `pytest tests/browser` right after an edit)."""
    manifest = os.path.join(DIST, "manifest.json")
    if not os.path.exists(manifest) or os.path.getmtime(manifest) < _newest_source():
        subprocess.run([sys.executable, os.path.join(REPO, "build.py"), "--out", DIST], check=True)
    return DIST


# wetron.state() once an open has ended, either way
OPENED = "['ready', 'error'].includes(wetron.state().status)"


def open_in_page(page, site, path):
    """Load the page, wait for Python, choose the model file with the real file input
    and wait until it is drawn (asserting it opened)."""
    page.set_default_timeout(120_000)
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    page.set_input_files("#file-input", [path])
    page.wait_for_function(OPENED)
    assert page.evaluate("wetron.state().status") == "ready", page.evaluate("wetron.state().error")


def timed_open(page, path):
    """Choose `path` with the page's file input; (seconds until drawn or failed,
    wetron.state()). For the benchmarks in bench/."""
    t0 = time.time()
    page.set_input_files("#file-input", path)
    page.wait_for_function(OPENED, polling=20)
    return time.time() - t0, page.evaluate("wetron.state()")


class Site:
    def __init__(self, dist):
        self.dist = dist
        self.requests = []          # every path asked for, in order
        self._shared = {}           # token -> local path
        self._lock = threading.Lock()
        site = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                              **MIME_TYPES}

            def log_message(self, *args):
                pass

            def end_headers(self):
                self.send_header("Cache-Control", "no-cache")
                super().end_headers()

            def translate_path(self, path):
                return super().translate_path("/" + path[len(PREFIX):])

            def do_GET(self):
                with site._lock:
                    site.requests.append(self.path)
                path = urllib.parse.urlsplit(self.path).path
                if not path.startswith(PREFIX):
                    # only PREFIX maps onto dist/: a URL that escaped the sub-path
                    return self.send_error(404, "outside the site's sub-path")
                if path == PREFIX + BLANK:
                    return self._send(b"<!doctype html><meta charset=utf-8><title>test</title>"
                                      b"<link rel=icon href='data:,'>", "text/html")
                if path.startswith(PREFIX + SHARED):
                    local = site._shared.get(path[len(PREFIX + SHARED):].split("/")[0])
                    if local is None:
                        return self.send_error(404)
                    with open(local, "rb") as f:
                        return self._send(f.read(), "application/octet-stream")
                return super().do_GET()

            def _send(self, body, mime):
                self.send_response(200)
                self.send_header("Content-Type", mime)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), lambda *a, **k: Handler(*a, directory=dist, **k))
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = self.origin + PREFIX
        self.blank_url = self.url + BLANK
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def share(self, path):
        """A same-origin URL serving the local file `path`, ending in its own name."""
        token = base64.urlsafe_b64encode(os.urandom(9)).decode()
        with self._lock:
            self._shared[token] = os.path.abspath(path)
        return f"{self.url}{SHARED}{token}/{urllib.parse.quote(os.path.basename(path))}"

    def close(self):
        self._server.shutdown()
        self._server.server_close()


MIME_TYPES = {".mjs": "application/javascript", ".js": "application/javascript",
              ".wasm": "application/wasm", ".json": "application/json",
              ".gz": "application/gzip", ".whl": "application/zip"}


# --- waiting under the page's Content-Security-Policy ----------------------------------
# index.html's CSP forbids eval, and Playwright's own Page.wait_for_function evaluates
# its expression with eval() inside the page: under the CSP it fails with an EvalError.
# page.evaluate() is compiled through the DevTools protocol, which the CSP does not
# govern, so this replacement polls the same expression from one evaluate: the same
# arguments and meaning (a function is called with arg; the first truthy value comes
# back as a JSHandle; polling "raf" or milliseconds; TimeoutError after the timeout,
# the page's default one unless given). Installed on Playwright's Page class, so the
# tests and the benchmarks (which import this module) keep calling
# page.wait_for_function, and every browser test runs the page under its real CSP.

_WAIT_FOR = """async ([__wfArg, __wfPolling, __wfTimeout]) => {
  const __wfDeadline = __wfTimeout > 0 ? performance.now() + __wfTimeout : Infinity;
  let __wfFunction = null;
  for (;;) {
    let __wfValue = __wfFunction ? __wfFunction(__wfArg) : (%s);
    if (!__wfFunction && typeof __wfValue === 'function') {
      __wfFunction = __wfValue;
      __wfValue = __wfFunction(__wfArg);
    }
    if (__wfValue) return __wfValue;
    if (performance.now() > __wfDeadline) throw new Error('__wetron_wait_timeout__');
    await new Promise((resolve) => {
      if (__wfPolling === 'raf') requestAnimationFrame(resolve);
      setTimeout(resolve, __wfPolling === 'raf' ? 100 : __wfPolling);   // rAF stops in hidden pages
    });
  }
}"""


def _wait_for_function(self, expression, *, arg=None, polling=None, timeout=None):
    from playwright.sync_api import Error, TimeoutError
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds() * 1000
    try:
        ms = self._impl_obj._timeout_settings.timeout(timeout)
    except AttributeError:   # a Playwright without these internals: its usual default
        ms = 30_000 if timeout is None else timeout
    deadline = time.monotonic() + ms / 1000 if ms else None
    source = _WAIT_FOR % expression.strip().rstrip(";")
    while True:
        left = 0 if deadline is None else max(1, (deadline - time.monotonic()) * 1000)
        try:
            return self.evaluate_handle(source, [arg, polling if polling is not None else "raf", left])
        except Error as error:
            if "__wetron_wait_timeout__" in error.message:
                raise TimeoutError(f"Page.wait_for_function: Timeout {ms:.0f}ms exceeded "
                                   f"waiting for {expression!r}") from None
            # a navigation replaced the document: wait on in the new one, as Playwright does
            navigated = "Execution context was destroyed" in error.message or "navigat" in error.message
            if not navigated or (deadline is not None and time.monotonic() > deadline):
                raise


def install_csp_safe_wait():
    from playwright.sync_api import Page
    Page.wait_for_function = _wait_for_function


install_csp_safe_wait()


# --- the parse worker ---------------------------------------------------------------------

# Installed in the page: starts app/parse-worker.js and turns its messages into
# promises. request(msg) resolves with the final answer (graph, tensor or error) and
# the progress messages that came before it.
WORKER_CLIENT = r"""
(workerUrl) => {
  const worker = new Worker(workerUrl, { type: "module" });
  const pending = new Map();
  const progress = new Map();
  let resolveReady;
  const client = {
    worker,
    startedAt: performance.now(),
    ready: new Promise((r) => { resolveReady = r; }),
    request(msg) {
      return new Promise((resolve) => {
        pending.set(msg.id, resolve);
        progress.set(msg.id, []);
        worker.postMessage(msg);
      });
    },
  };
  worker.onmessage = (event) => {
    const m = event.data;
    if (m.type === "ready") {
      resolveReady({ ...m, wallMs: performance.now() - client.startedAt });
    } else if (m.type === "progress") {
      progress.get(m.id)?.push(m.message);
    } else if (m.type === "opened") {
      // not an answer: the parse is done (app/parse-worker.js)
    } else if (m.id === null && m.type === "error") {
      resolveReady(m);
    } else if (pending.has(m.id)) {
      pending.get(m.id)({ ...m, progress: progress.get(m.id) });
      pending.delete(m.id);
    }
  };
  worker.onerror = (e) => resolveReady({ type: "error", id: null, message: "worker error: " + e.message });
  window.__parseWorker = client;
}
"""

# Fetch same-origin URLs into Files in the page and send them as an 'open' request.
OPEN_FILES = r"""
async ([id, url, name, companions]) => {
  const toFile = async (u, n) => new File([await (await fetch(u)).blob()], n);
  const msg = { type: "open", id, file: await toFile(url, name), name,
                companions: await Promise.all(companions.map(async ([n, u]) => ({ name: n, file: await toFile(u, n) }))) };
  return await window.__parseWorker.request(msg);
}
"""


class ParseWorker:
    """The page's side of app/parse-worker.js, driven from Python."""

    def __init__(self, page, site, worker_url=None, timeout_ms=120_000):
        self.page = page
        self.site = site
        self._next = 0
        page.set_default_timeout(timeout_ms)
        page.evaluate(WORKER_CLIENT, worker_url or site.url + "app/parse-worker.js")

    def ready(self):
        """The 'ready' message (plus wallMs, from worker creation), or the start error."""
        return self.page.evaluate("window.__parseWorker.ready")

    def _id(self):
        self._next += 1
        return f"r{self._next}"

    def open(self, path, companions=()):
        """Send a local file (and companion files beside it) as Files: an 'open'."""
        return self.page.evaluate(OPEN_FILES, [
            self._id(), self.site.share(path), os.path.basename(path),
            [[os.path.basename(c), self.site.share(c)] for c in companions]])

    def open_url(self, url):
        return self.page.evaluate("(m) => window.__parseWorker.request(m)",
                                  {"type": "open-url", "id": self._id(), "url": url})

    def tensor(self, index, limit):
        return self.page.evaluate("(m) => window.__parseWorker.request(m)",
                                  {"type": "tensor", "id": self._id(), "tensor": index,
                                   "limit": limit})

    @staticmethod
    def document(answer):
        """The graph document of a 'graph' answer (fails the test on anything else)."""
        assert answer["type"] == "graph", f"expected a graph, got {answer}"
        return json.loads(answer["json"])
