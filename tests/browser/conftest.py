"""Browser test harness: the built site (dist/) served on 127.0.0.1 under a sub-path,
and Debian's Chromium driven by Playwright.

Fixtures
  site         (session) the server: site.url is the site's base URL (ends in '/'),
               site.share(path) -> URL of a local file (a test model) on the same origin,
               site.requests lists every path the server was asked for.
  browser      (session) headless Chromium (/usr/bin/chromium).
  context      a fresh browser context (own cache and storage); every request it makes
               is recorded, and the test fails if one leaves the site's origin.
  page         a page in that context. page.console_errors / page.page_errors collect
               what the page reported; the test fails on any of them unless it is marked
               @pytest.mark.console_errors_ok. Open the real page with page.goto(site.url).
  app_page     `page` with the real page (index.html) loaded and Python ready
               (window.wetron.ready() resolved).
  parse_worker a harness.ParseWorker started in a blank page of the site.

Test models: `import models` (tests/models.py: torch_cnn(), torch_transformer(),
backend_node_models(), ...); page.set_input_files() takes their paths directly, and
site.share(path) gives a URL for them.

The site is served under /wetron/ rather than at the root, so every test also checks
that the site works from a sub-path (as on GitHub Pages).
"""
import pytest

from .harness import CHROMIUM, CHROMIUM_ARGS, ParseWorker, Site, ensure_built


def pytest_configure(config):
    config.addinivalue_line("markers", "console_errors_ok: the test expects console errors")


@pytest.fixture(scope="session")
def site():
    s = Site(ensure_built())
    yield s
    s.close()


# --- the browser ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def context(browser, site):
    ctx = browser.new_context()
    ctx.requested_urls = []
    ctx.on("request", lambda r: ctx.requested_urls.append(r.url))
    yield ctx
    ctx.close()
    foreign = [u for u in ctx.requested_urls
               if not (u.startswith(site.origin + "/") or u.startswith(("blob:", "data:")))]
    assert not foreign, f"requests left the site's origin: {foreign[:10]}"


@pytest.fixture
def page(context, request):
    p = context.new_page()
    p.console_errors = []
    p.page_errors = []
    p.console_lines = []
    p.on("console", lambda m: (p.console_lines.append(f"{m.type}: {m.text}"),
                               m.type == "error" and p.console_errors.append(m.text)))
    p.on("pageerror", lambda e: p.page_errors.append(str(e)))
    yield p
    if request.node.get_closest_marker("console_errors_ok") is None:
        assert not p.page_errors, f"uncaught errors in the page: {p.page_errors}"
        assert not p.console_errors, f"console errors: {p.console_errors}"


@pytest.fixture
def app_page(page, site):
    page.set_default_timeout(120_000)
    page.goto(site.url)
    page.wait_for_function("window.wetron !== undefined")
    page.evaluate("window.wetron.ready()")
    return page


@pytest.fixture
def parse_worker(page, site):
    page.goto(site.blank_url)
    w = ParseWorker(page, site)
    ready = w.ready()
    assert ready["type"] == "ready", ready
    return w
