"""The page's security: its Content-Security-Policy (index.html's <meta http-equiv>) is
served and enforced in Chromium (no inline script, no eval, no script from elsewhere;
WebAssembly allowed), the whole page works under it without a single violation, and
strings from model files (names, op types, doc strings, metadata, file names) and from
links are shown as text only: in the toolbar, banner, sidebar, search results, share
panel, cost summary and the exported SVG, never interpreted as HTML or script.

The strings test runs twice: with the CSP enforced, where a string that reached the DOM
as HTML shows up as a CSP violation (the policy blocks the handler it carried), and
with the CSP bypassed, where it would run (window.__pwned); in both, the text must
appear literally and no element or event-handler attribute may come from it.
Companion file names from a model that leave its folder are refused in the page."""
import html.parser
import os
import threading
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from .harness import OPENED

pytestmark = pytest.mark.timeout(300)

# --- the policy ---------------------------------------------------------------------

# What the policy must forbid and allow; the exact string lives in index.html.
REQUIRED = {
    "default-src": {"'none'"},
    "script-src": {"'self'", "'wasm-unsafe-eval'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'none'"},
}
NEVER = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'strict-dynamic'", "*", "http:", "https:"}
# where a data: or blob: URL would be code
NO_URLS = {"default-src", "script-src", "script-src-elem", "script-src-attr", "worker-src", "style-src"}
# ignored in a <meta> policy (Chromium logs an error for each): HTTP header only
HEADER_ONLY = {"frame-ancestors", "report-uri", "sandbox"}


class _PageScan(html.parser.HTMLParser):
    """The CSP <meta> tags of an HTML page, where they stand, and what a policy
    without 'unsafe-inline' would block: inline scripts, style="" and on* attributes,
    <style> elements, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.policies, self.before_policy, self.inline = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.policies.append(a.get("content") or "")
        elif not self.policies and tag in ("script", "link", "style", "img", "base"):
            self.before_policy.append(tag)
        if tag == "script" and not a.get("src"):
            self.inline.append("inline <script>")
        if tag == "style":
            self.inline.append("<style>")
        for k, v in attrs:
            if k.startswith("on") or k == "style":
                self.inline.append(f"{tag} {k}=")
            if k in ("href", "src", "action") and (v or "").strip().lower().startswith("javascript:"):
                self.inline.append(f"{tag} {k}=javascript:")


def directives(policy):
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = set(words[1:])
    return out


def page_policy(site):
    with urllib.request.urlopen(site.url) as response:
        scan = _PageScan()
        scan.feed(response.read().decode())
    return scan


def test_the_served_page_carries_a_strict_policy_before_anything_it_governs(site):
    scan = page_policy(site)
    assert len(scan.policies) == 1, scan.policies
    assert scan.before_policy == [], f"loaded before the CSP meta, so not covered: {scan.before_policy}"
    d = directives(scan.policies[0])
    for name, sources in REQUIRED.items():
        assert d.get(name) == sources, f"{name}: {d.get(name)}"
    for name, sources in d.items():
        assert not sources & NEVER, f"{name} allows {sources & NEVER}"
        assert name not in NO_URLS or not sources & {"data:", "blob:"}, f"{name}: {sources}"
        assert all(s.startswith("'") or s in ("data:", "blob:") for s in sources), f"{name}: a host in {sources}"
    assert not HEADER_ONLY & set(d), "ignored in <meta>: set them as an HTTP header (README.md)"
    assert d["worker-src"] == {"'self'"} and d["connect-src"] == {"'self'"}
    assert d["img-src"] == {"'self'", "data:", "blob:"}   # the data: favicon, PNG export's blob:
    assert d["style-src"] == {"'self'"}                    # no inline <style> or style=""
    assert scan.inline == [], scan.inline


def test_every_html_page_of_the_site_has_the_policy(site):
    pages = [os.path.join(folder, n) for folder, _, names in os.walk(site.dist)
             for n in names if n.endswith((".html", ".htm"))]
    assert pages
    for path in pages:
        scan = _PageScan()
        with open(path, encoding="utf-8") as f:
            scan.feed(f.read())
        assert scan.policies == page_policy(site).policies, path
        assert scan.inline == [] and scan.before_policy == [], (path, scan.inline, scan.before_policy)


# --- the policy enforced ------------------------------------------------------------

FOREIGN = "http://127.0.0.1:9/x.js"   # another origin (port 9: discard, nothing listens)

# Runs before the page's scripts (DevTools protocol: not itself subject to the CSP).
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
  { directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile }));
"""


def csp_errors_only(page):
    """The page's console errors, each checked to be the browser reporting a CSP block."""
    for text in page.console_errors:
        assert "Content Security Policy" in text, text
    assert not page.page_errors, page.page_errors


@pytest.mark.console_errors_ok   # Chromium reports each block on the console
def test_the_policy_blocks_inline_script_eval_and_foreign_script(page, site):
    failed = {}
    page.on("requestfailed", lambda r: failed.setdefault(r.url, r.failure))
    page.add_init_script(WATCH)
    page.set_default_timeout(120_000)
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    assert page.evaluate("window.__violations") == []
    result = page.evaluate("""async (FOREIGN) => {
      const tick = () => new Promise((r) => setTimeout(r, 100));
      const out = {};
      // a script element with inline text, added through the DOM
      const inline = document.createElement('script');
      inline.textContent = 'window.__inline = 1';
      document.head.append(inline);
      // HTML with an event-handler attribute (what an unescaped model string would be)
      const holder = document.createElement('div');
      holder.innerHTML = '<img src="data:," onerror="window.__attr = 1">';
      document.body.append(holder);
      // a javascript: URL
      const link = document.createElement('a');
      link.href = 'javascript:window.__jsurl = 1';
      document.body.append(link);
      link.click();
      // scripts from a data: URL and from another origin
      const loaded = (src) => new Promise((resolve) => {
        const s = document.createElement('script');
        s.src = src;
        s.onload = () => resolve('loaded'); s.onerror = () => resolve('blocked');
        document.head.append(s);
      });
      out.dataScript = await loaded('data:text/javascript,window.__data = 1');
      out.foreignScript = await loaded(FOREIGN);
      // eval and its relatives, called by page code
      const attempt = (f) => { try { f(); return 'ran'; } catch (e) { return e.name; } };
      out.eval = attempt(() => eval('window.__eval = 1'));
      out.function = attempt(() => new Function('window.__function = 1')());
      setTimeout('window.__timeout = 1', 0);
      // a worker from a blob: URL
      out.blobWorker = await new Promise((resolve) => {
        const w = new Worker(URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'text/javascript' })));
        w.onmessage = () => resolve('ran'); w.onerror = () => resolve('blocked');
      });
      // WebAssembly compiles ('wasm-unsafe-eval'): Pyodide needs it
      out.wasm = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then(() => 'compiled', (e) => e.name);
      await tick(); await tick();
      out.ran = ['__inline', '__attr', '__jsurl', '__data', '__eval', '__function', '__timeout'].filter((k) => k in window);
      holder.remove(); link.remove();
      return out;
    }""", FOREIGN)
    assert result["ran"] == [], result
    assert result["dataScript"] == result["foreignScript"] == "blocked", result
    assert result["eval"] == result["function"] == "EvalError", result
    assert result["blobWorker"] == "blocked", result
    assert result["wasm"] == "compiled", result
    seen = {(v["directive"], v["blocked"]) for v in page.evaluate("window.__violations")}
    for expected in [("script-src-elem", "inline"), ("script-src-attr", "inline"), ("script-src", "eval"),
                     ("script-src-elem", "data"), ("script-src-elem", FOREIGN),
                     ("worker-src", "blob")]:
        assert expected in seen, (expected, seen)
    # the foreign script was stopped in the browser (Chromium still reports the attempt)
    assert failed.get(FOREIGN) == "csp", failed
    page.context.requested_urls.remove(FOREIGN)
    csp_errors_only(page)


def violations(page):
    return page.evaluate("window.__violations")


def test_the_whole_page_works_under_the_policy(page, site):
    """Python, an example, drawing, picking, sidebar, tensor viewer, search, modules,
    theme, zoom, minimap, copy link, SVG/PNG and cost exports, the service worker:
    every control, with the CSP enforced, and not one violation (nor console error:
    the page fixture fails on any, and Chromium logs each CSP block as one)."""
    page.add_init_script(WATCH)
    page.set_default_timeout(120_000)
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    page.wait_for_selector("#python-status.ok")
    page.click("#examples button.example >> nth=0")
    page.wait_for_function(OPENED)
    state = page.evaluate("wetron.state()")
    assert state["status"] == "ready" and state["drawn"]["nodes"] > 0, state

    names = page.evaluate("wetron.nodeNames()")
    node = next(n for n in names if page.evaluate("(n) => wetron.nodeScreenPosition(n)", n))
    pos = page.evaluate("(n) => wetron.nodeScreenPosition(n)", node)
    page.mouse.click(pos["x"], pos["y"])
    page.wait_for_function("(n) => wetron.state().selected === n", arg=node)
    assert page.inner_text("#sidebar-body")

    page.fill("#search", "Conv")
    page.wait_for_selector("#search-results li[data-result]")
    page.click("#search-results .search-highlight")
    page.wait_for_function("wetron.highlighted().nodes.length > 0")
    page.click("#search-results li[data-result] >> nth=0")
    page.wait_for_function("wetron.state().selected !== null")

    # a weight: values, statistics (histogram canvas), .npy download
    weight = page.locator("#sidebar .sb-weight").first
    if weight.count():
        weight.locator("button:has-text('Show values')").click()
        page.wait_for_selector("#sidebar pre.sb-values:not([hidden])")
        weight.locator(".tv-stats-button").click()
        page.wait_for_selector("#sidebar .tv-out canvas")
        with page.expect_download():
            weight.locator(".tv-npy-button").click()

    for control in ["#modules-toggle:visible", "#zoom-in", "#zoom-out", "#zoom-fit", "#theme-toggle",
                    "#sidebar-toggle", "#sidebar-toggle", "#theme-toggle"]:
        if page.locator(control).count():
            page.click(control)
    box = page.locator("#minimap").bounding_box()
    if box and page.is_visible("#minimap"):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.click("#share-button")
    page.wait_for_selector("#share-panel input.share-url")
    page.click("#share-button")

    for kind in ("svg", "png"):
        page.click("#export-button")
        with page.expect_download() as download:
            page.click(f"#export-{kind}")
        assert os.path.getsize(download.value.path()) > 1000
    # the model's properties (click on the background) and the cost summary's downloads
    page.evaluate("wetron.select(null)")
    csv = page.locator("#sidebar .cs-downloads button[data-format=csv]")
    if csv.count():
        with page.expect_download():
            csv.click()
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => !!r.active)")
    assert violations(page) == []


def test_links_to_other_hosts_still_open(browser, site):
    """connect-src 'self' governs the page; a ?url= link is downloaded by the parse
    worker, which the page's <meta> policy does not cover (a worker's policy comes
    with its own script's response), so models linked from other hosts still open."""
    import http.server

    dist = site.dist

    class CORS(http.server.SimpleHTTPRequestHandler):
        def end_headers(self):
            self.send_header("Access-Control-Allow-Origin", "*")
            super().end_headers()

        def log_message(self, *args):
            pass

    other = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: CORS(*a, directory=os.path.join(dist, "examples"), **k))
    threading.Thread(target=other.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.add_init_script(WATCH)
        page.set_default_timeout(120_000)
        name = sorted(n for n in os.listdir(os.path.join(dist, "examples")) if n.endswith(".onnx"))[0]
        url = f"http://127.0.0.1:{other.server_address[1]}/{name}"
        page.goto(site.url + "?url=" + urllib.parse.quote(url, safe=""))
        page.wait_for_function(OPENED)
        assert page.evaluate("wetron.state().status") == "ready", page.evaluate("wetron.state().error")
        assert violations(page) == [] and errors == [], (violations(page), errors)
    finally:
        context.close()
        other.shutdown()
        other.server_close()


# --- strings from model files and links ---------------------------------------------

IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=1</script>"
SVG_TAG = '"><svg onload=window.__pwned=1>'
JS_URL = "javascript:window.__pwned=1"
ENTITY = "&lt;b&gt;&amp;"            # must stay these 13 characters, not become "<b>&"
FILE_NAME = "<img src=x onerror=window.__pwned=1>.onnx"   # a legal file name
DATA_FILE = "<img src=x onerror=window.__pwned=1>.bin"    # external data, not given: a warning


def payload_model(path):
    """A real ONNX model whose every string the page shows carries a payload."""
    x = helper.make_tensor_value_info(IMG, TensorProto.FLOAT, [1, 4])
    cond = helper.make_tensor_value_info(ENTITY + " cond", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info(SVG_TAG, TensorProto.FLOAT, [1, 4])
    branch_out = helper.make_tensor_value_info(JS_URL + " if", TensorProto.FLOAT, [1])
    weight = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(1, 4), name=JS_URL)
    external = TensorProto(name=ENTITY + " weight", data_type=TensorProto.FLOAT, dims=[4],
                           data_location=TensorProto.EXTERNAL)
    external.external_data.add(key="location", value=DATA_FILE)
    external.external_data.add(key="length", value="16")

    def branch(name, out):
        const = helper.make_node("Constant", [], [out], name=f"{name} const",
                                 value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))
        return helper.make_graph([const], name, [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1])])

    nodes = [
        helper.make_node("Add", [IMG, JS_URL], [SCRIPT + " out"], name=SCRIPT, doc_string=IMG + " doc"),
        helper.make_node(IMG, [SCRIPT + " out"], [ENTITY + " out"], name=SVG_TAG, domain=SVG_TAG + ".domain",
                         label=f"{JS_URL} {SCRIPT}"),
        helper.make_node("Mul", [ENTITY + " out", ENTITY + " weight"], [SVG_TAG], name=ENTITY, doc_string=JS_URL),
        helper.make_node("If", [ENTITY + " cond"], [JS_URL + " if"], name=JS_URL + " if",
                         then_branch=branch(SCRIPT + " then", IMG + " t"),
                         else_branch=branch(SVG_TAG + " else", IMG + " e")),
    ]
    graph = helper.make_graph(nodes, SCRIPT + " graph", [x, cond], [y, branch_out],
                              initializer=[weight, external], doc_string=SVG_TAG)
    model = helper.make_model(graph, producer_name=SCRIPT, producer_version=IMG, doc_string=f"{SVG_TAG} {JS_URL}",
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(SVG_TAG + ".domain", 1)])
    model.domain = IMG
    for key, value in [(IMG, SCRIPT), (JS_URL, SVG_TAG), (ENTITY, ENTITY)]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, path)
    return path


# What a string interpreted as HTML would have left: elements the page never makes
# (img, svg, iframe, ...; a second script), event-handler attributes, javascript: URLs.
INSPECT = """() => {
  const found = [];
  for (const e of document.querySelectorAll('*')) {
    const tag = e.tagName.toLowerCase();
    const own = tag === 'form' && e.classList.contains('export-form');   // the page's export dialog (app/export.js)
    if (!own && ['img', 'svg', 'iframe', 'object', 'embed', 'image', 'frame', 'base', 'form', 'math'].includes(tag)) found.push(tag);
    if (tag === 'script' && !(e.src && e.src.endsWith('/app/main.js'))) found.push('script');
    if (tag === 'style') found.push('style');
    for (const a of e.attributes) {
      if (a.name.startsWith('on')) found.push(`${tag} ${a.name}`);
      if (/^\\s*javascript:/i.test(a.value) && ['href', 'src', 'action', 'formaction', 'xlink:href'].includes(a.name)) found.push(`${tag} ${a.name}=${a.value}`);
    }
  }
  return { pwned: typeof window.__pwned, injected: found, violations: window.__violations };
}"""


@pytest.fixture(params=["csp", "no-csp"])
def guarded_page(request, browser, site):
    """A page of the site with the CSP enforced ('csp') or bypassed ('no-csp', so that
    a payload that got through would run); console errors and off-site requests fail
    the test, as conftest's page fixture does."""
    context = browser.new_context(bypass_csp=request.param == "no-csp", accept_downloads=True)
    requested = []
    context.on("request", lambda r: requested.append(r.url))
    page = context.new_page()
    page.console_errors, page.page_errors = [], []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.page_errors.append(str(e)))
    page.add_init_script(WATCH)
    page.set_default_timeout(120_000)
    yield page
    context.close()
    foreign = [u for u in requested if not u.startswith((site.origin + "/", "blob:", "data:"))]
    assert not foreign, foreign
    assert not page.page_errors, page.page_errors
    assert not page.console_errors, page.console_errors


def assert_clean(page, where):
    r = page.evaluate(INSPECT)
    assert r["pwned"] == "undefined", f"{where}: a payload ran"
    assert r["injected"] == [], f"{where}: markup from a string reached the DOM: {r['injected']}"
    assert r["violations"] == [], f"{where}: the CSP blocked something (a string interpreted?): {r['violations']}"


def texts(page, selector):
    return page.evaluate("(s) => [...document.querySelectorAll(s)].map((e) => e.textContent)", selector)


def shown(page, selector, *strings):
    """Each string appears literally in the text of the element(s) at selector."""
    text = "\n".join(texts(page, selector))
    for s in strings:
        assert s in text, f"{s!r} not shown as text in {selector}: {text[:2000]!r}"


def select_on_canvas(page, name):
    pos = page.evaluate("(n) => wetron.nodeScreenPosition(n)", name)
    assert pos, name
    page.mouse.click(pos["x"], pos["y"])
    page.wait_for_function("(n) => wetron.state().selected === n", arg=name)


def test_strings_from_a_model_are_shown_as_text_only(guarded_page, site, tmp_path):
    page = guarded_page
    path = payload_model(str(tmp_path / FILE_NAME))
    page.goto(site.url)
    page.evaluate("wetron.ready()")
    page.set_input_files("#file-input", [path])
    page.wait_for_function(OPENED)
    assert page.evaluate("wetron.state().status") == "ready", page.evaluate("wetron.state().error")
    assert_clean(page, "opened")

    # toolbar and banner (the external data file's warning names it)
    assert page.text_content("#model-name") == FILE_NAME
    shown(page, "#banner-text", DATA_FILE)
    # the model's properties: producer, domain, description, metadata, graph, inputs, outputs
    shown(page, "#sidebar-body", FILE_NAME, SCRIPT, IMG, f"{SVG_TAG} {JS_URL}", JS_URL, ENTITY,
          SCRIPT + " graph", SVG_TAG, SVG_TAG + ".domain")
    # the cost summary's op cells carry the op type as their tooltip, verbatim
    assert IMG in page.evaluate("[...document.querySelectorAll('#sidebar .cs-op')].map((e) => e.title)")
    assert_clean(page, "model properties")

    # every node, picked on the canvas: name, op, domain, attribute, doc, inputs, outputs
    select_on_canvas(page, SCRIPT)
    shown(page, "#sidebar-body", SCRIPT, IMG + " doc", IMG, JS_URL, SCRIPT + " out")
    page.locator("#sidebar .sb-weight button:has-text('Show values')").first.click()
    page.wait_for_selector("#sidebar pre.sb-values:not([hidden])")
    page.locator("#sidebar .tv-stats-button").first.click()
    page.wait_for_selector("#sidebar .tv-out canvas")
    assert_clean(page, "node " + SCRIPT)
    select_on_canvas(page, SVG_TAG)
    shown(page, "#sidebar-body", SVG_TAG, IMG, SVG_TAG + ".domain", f"{JS_URL} {SCRIPT}", ENTITY + " out")
    assert_clean(page, "custom op node")
    select_on_canvas(page, ENTITY)
    shown(page, "#sidebar-body", ENTITY, JS_URL, ENTITY + " weight", DATA_FILE)
    assert_clean(page, "node " + ENTITY)
    select_on_canvas(page, IMG)          # the graph input
    shown(page, "#sidebar-body", IMG)
    assert_clean(page, "graph input")
    # the sidebar's link to the selected node's producer: a plain '#' link
    assert page.evaluate("[...document.querySelectorAll('#sidebar a')].every((a) => a.getAttribute('href') === '#')")

    # a subgraph named with a payload: the sidebar's link and the breadcrumb
    select_on_canvas(page, JS_URL + " if")
    page.click(f"#sidebar a.sb-link:has-text({SCRIPT + ' then'!r})")
    page.wait_for_function("wetron.state().status === 'ready' && wetron.state().graph !== 0")
    shown(page, "#graph-path", SCRIPT + " then")
    assert_clean(page, "subgraph")
    page.click("#graph-path button")
    page.wait_for_function("wetron.state().status === 'ready' && wetron.state().graph === 0")

    # search: results list, then the jump to a result
    for query, name in [("script", SCRIPT), ("onerror", SVG_TAG), ("svg onload", SVG_TAG), (ENTITY, ENTITY), ("javascript:", JS_URL + " if")]:
        page.fill("#search", query)
        page.wait_for_selector("#search-results li[data-result]")
        shown(page, "#search-results", name)
        assert_clean(page, f"search {query!r}")
    page.click("#search-results li[data-result] >> nth=0")
    page.wait_for_function("wetron.state().selected !== null")
    page.keyboard.press("Escape")

    # copy link: the selection's name travels in the address, as text in a field
    select_on_canvas(page, SVG_TAG)
    page.click("#share-button")
    page.wait_for_selector("#share-panel input.share-url")
    field = page.eval_on_selector("#share-panel input.share-url", "(e) => e.value")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(field).query)["node"] == [SVG_TAG]
    assert_clean(page, "share panel")
    page.click("#share-button")

    # SVG export: parsed as XML, it holds no script, no foreign markup, no handlers,
    # and the strings as text
    page.click("#export-button")
    with page.expect_download() as download:
        page.click("#export-svg")
    with open(download.value.path(), encoding="utf-8") as f:
        svg = f.read()
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    allowed = {"svg", "title", "rect", "path", "g", "text", "style"}
    tags = {e.tag.replace(ns, "") for e in root.iter()}
    assert tags <= allowed, tags - allowed
    for e in root.iter():
        for k, v in e.attrib.items():
            assert not k.split("}")[-1].startswith("on") and "javascript:" not in v.lower(), (e.tag, k, v)
    assert root.find(f"{ns}title").text == f"{FILE_NAME} — Wetron"
    drawn = [e.text for e in root.iter(f"{ns}text")]
    assert any(t and t.startswith(ENTITY + " ") for t in drawn), drawn   # neither decoded nor escaped twice
    assert any(t and t.startswith("<img src=x") for t in drawn), drawn   # the op type (clipped)
    assert any(t and t.startswith(SVG_TAG[:8]) for t in drawn), drawn
    for style in root.iter(f"{ns}style"):
        assert "@font-face" in style.text and "<" not in style.text
    page.click("#export-button")
    with page.expect_download() as download:
        page.click("#export-png")
    with open(download.value.path(), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert_clean(page, "export")


def test_links_are_never_interpreted(page, site, tmp_path):
    """?url= and ?node= come from whoever wrote the link: a javascript: or HTML 'url' is
    an error shown as text, a payload node name only selects (or not)."""
    page.add_init_script(WATCH)
    page.set_default_timeout(120_000)
    path = payload_model(str(tmp_path / FILE_NAME))
    shared = site.share(path)
    page.goto(site.url + "?" + urllib.parse.urlencode({"url": shared, "node": SVG_TAG}))
    page.wait_for_function(OPENED)
    assert page.evaluate("wetron.state().status") == "ready", page.evaluate("wetron.state().error")
    page.wait_for_function("(n) => wetron.state().selected === n", arg=SVG_TAG)
    assert page.text_content("#model-name") == FILE_NAME
    shown(page, "#sidebar-body", SVG_TAG, IMG)
    assert_clean(page, "link with a payload file name and node")

    for url in [JS_URL, f"{IMG}.onnx", f"data:text/html,{SCRIPT}"]:
        page.goto(site.url + "?" + urllib.parse.urlencode({"url": url, "node": IMG}))
        page.wait_for_function(OPENED)
        assert page.evaluate("wetron.state().status") == "error"
        assert page.is_visible("#banner")
        assert page.text_content("#banner-text") == page.evaluate("wetron.state().error")
        assert_clean(page, f"?url={url}")
    # a failed download is logged by the browser itself (the 404 of the relative name)
    for text in page.console_errors:
        assert "404" in text or "Failed to load resource" in text, text
    page.console_errors.clear()


# --- companion names from the model -------------------------------------------------

def test_companion_names_outside_the_folder_are_refused_in_the_page(page, site, tmp_path):
    """Companion names come from the model file. A name that leaves the model's folder
    ('../secret.bin', an absolute path) is refused by the page's lookup even when a file
    of that base name was given with the model: an ONNX tensor whose external data is
    '../secret.bin' and a TF.js model whose shards are '../group1-shard*.bin', picked
    with those files, open with the weights refused (the sidebar says so, no values are
    offered), as the CLI refuses them beside the file (tests/test_companions.py)."""
    import formats_tensorflow_models
    import test_companions
    page.set_default_timeout(120_000)
    page.goto(site.url)
    page.evaluate("wetron.ready()")

    def open_files(paths):
        page.set_input_files("#file-input", [str(p) for p in paths])
        page.wait_for_function(OPENED)
        assert page.evaluate("wetron.state().status") == "ready", page.evaluate("wetron.state().error")

    def weight_card(node):
        assert page.evaluate("(n) => wetron.select(n)", node)
        page.wait_for_function("(n) => wetron.state().selected === n", arg=node)
        return page.evaluate("""() => [...document.querySelectorAll('#sidebar-body .sb-weight')].map((w) => ({
          error: (w.querySelector('.sb-error') || {}).textContent || null,
          values: [...w.querySelectorAll('button')].some((b) => b.textContent === 'Show values') }))""")

    inner = tmp_path / "models"
    inner.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\x01" * 64)
    for location in ("../secret.bin", str(secret)):
        model = inner / "external.onnx"
        onnx.save_model(test_companions.external_data_model(location), str(model))
        open_files([model, secret])
        cards = weight_card(wetron_node(model))
        assert cards == [{"error": f"tensor 'w': external data location '{location}' is not a plain "
                                   "relative path; refusing to read it", "values": False}], cards

    tfjs = tmp_path / "tfjs" / "models"
    tfjs.mkdir(parents=True)
    path, paths = test_companions.escaping_tfjs(
        formats_tensorflow_models.tensorflow_files()["tfjs"], tfjs, "parent")
    open_files([path] + [tfjs.parent / p[3:] for p in paths])
    refused = f"weights file '{paths[0]}' lies outside the folder of model.json (an absolute " \
              "path or one with '..'): refused"
    assert page.evaluate("document.getElementById('banner').textContent").count(refused) == 1
    cards = weight_card(wetron_node(path))
    assert cards and all(c == {"error": refused, "values": False} for c in cards), cards


def wetron_node(path):
    """The name of the first node of `path` (as CPython reads it) that reads a weight."""
    import wetron
    g = wetron.open(str(path)).graphs[0]
    weights = {t.name for t in g.initializers}
    return next(n.name for n in g.nodes if any(x in weights for x in n.inputs))
