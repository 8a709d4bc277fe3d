"""The built site (build.py's dist/): its manifest, wheel, service worker and server,
and the whole thing working from a sub-path and offline in Chromium."""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile

import pytest

from .harness import PREFIX, REPO, ParseWorker, Site

pytestmark = pytest.mark.timeout(600)


def site_files(dist):
    out = set()
    for folder, _dirs, names in os.walk(dist):
        for name in names:
            out.add(os.path.relpath(os.path.join(folder, name), dist).replace(os.sep, "/"))
    return out


def test_manifest_hashes_every_file(site):
    with open(os.path.join(site.dist, "manifest.json")) as f:
        manifest = json.load(f)
    assert set(manifest["files"]) == site_files(site.dist) - {"manifest.json", "sw.js"}
    for path, digest in manifest["files"].items():
        with open(os.path.join(site.dist, path), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, path
    for key in ("wheel", "snapshot", "examples"):
        assert manifest[key] in manifest["files"], key
        assert not manifest[key].startswith("/") and "://" not in manifest[key]
    for name in ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm.gz", "python_stdlib.zip",
                 "pyodide-lock.json"]:
        assert f"pyodide/{name}" in manifest["files"]


def test_wheel_holds_the_whole_package_with_a_valid_record(site):
    with open(os.path.join(site.dist, "manifest.json")) as f:
        wheel = os.path.join(site.dist, json.load(f)["wheel"])
    package = os.path.join(REPO, "py", "wetron")
    wanted = {os.path.relpath(os.path.join(folder, n), os.path.dirname(package)).replace(os.sep, "/")
              for folder, _d, names in os.walk(package) if "__pycache__" not in folder
              for n in names if not n.endswith(".pyc")}
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        assert wanted <= names, f"missing from the wheel: {sorted(wanted - names)}"
        record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
        record = [line.split(",") for line in whl.read(record_name).decode().splitlines()]
        assert {r[0] for r in record} == names
        for name, digest, size in record:
            if name == record_name:
                continue
            data = whl.read(name)
            b64 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == "sha256=" + b64 and int(size) == len(data), name
        wheel_meta = whl.read(record_name.replace("RECORD", "WHEEL")).decode()
        assert "Root-Is-Purelib: true" in wheel_meta and "Tag: py3-none-any" in wheel_meta
    assert "wetron/graph-schema.json" in names, "the wheel must carry the JSON schema"


def test_service_worker_precaches_every_file(site):
    with open(os.path.join(site.dist, "sw.js")) as f:
        text = f.read()
    assert "__VERSION__" not in text and "__FILES__" not in text
    files = json.loads(re.search(r"const FILES = (\{.*?\});", text, re.S).group(1))
    assert set(files) == site_files(site.dist) - {"sw.js"}
    assert not any(f.startswith("/") or "://" in f for f in files)
    for path in ("index.html", "pyodide/pyodide.asm.wasm.gz"):
        with open(os.path.join(site.dist, path), "rb") as f:
            assert files[path] == hashlib.sha256(f.read()).hexdigest(), path


def test_build_py_serve_uses_the_right_mime_types(site):
    server = subprocess.Popen([sys.executable, os.path.join(REPO, "build.py"), "serve",
                               "--no-build", "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        base = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        want = {"pyodide/pyodide.mjs": "application/javascript",
                "app/parse-worker.js": "application/javascript",
                "manifest.json": "application/json"}
        for path, mime in want.items():
            with urllib.request.urlopen(base + path) as response:
                assert response.headers["Content-Type"].split(";")[0] == mime, path
    finally:
        server.terminate()
        server.wait(10)


def test_every_request_stays_under_the_sites_sub_path(parse_worker, site):
    ParseWorker.document(parse_worker.open_url(site.url + "examples/" + sorted(
        f for f in os.listdir(os.path.join(site.dist, "examples")) if f.endswith(".onnx"))[0]))
    outside = [p for p in site.requests if not p.startswith(PREFIX)]
    assert not outside, f"requests outside {PREFIX}: {outside}"


def test_site_works_offline_after_the_first_visit(page, site, context):
    page.goto(site.blank_url)
    page.set_default_timeout(120_000)
    page.evaluate("""async (url) => {
      await navigator.serviceWorker.register(url);
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((r) => navigator.serviceWorker.addEventListener("controllerchange", r));
      }
    }""", site.url + "sw.js")
    served_before = len(site.requests)
    context.set_offline(True)
    try:
        worker = ParseWorker(page, site)
        ready = worker.ready()
        assert ready["type"] == "ready" and ready["snapshot"] is True, ready
        with open(os.path.join(site.dist, "examples", "index.json")) as f:
            example = json.load(f)[0]
        doc = ParseWorker.document(worker.open_url(site.url + example["url"]))
        assert doc["model"]["file"] == example["file"]
        if os.path.exists(os.path.join(site.dist, "index.html")):
            response = page.goto(site.url)
            assert response is not None and response.ok
            page.evaluate("() => window.wetron.ready()")
        # sw.js itself is left out: the page registers it once Python is ready, and the
        # browser's update check of a service worker script always goes to the network
        # (by the spec, and past Playwright's offline emulation); offline it just fails
        reached = [p for p in site.requests[served_before:]
                   if not p.startswith(PREFIX + "_test/") and p != PREFIX + "sw.js"]
    finally:
        context.set_offline(False)
    assert not reached, f"offline, yet the server was asked for {reached}"


REGISTER = """async (url) => {
  await navigator.serviceWorker.register(url);
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((r) => navigator.serviceWorker.addEventListener("controllerchange", r));
  }
}"""


def test_a_redeploy_downloads_only_the_files_that_changed(browser, site, tmp_path):
    """Returning visitors keep what did not change: after a redeploy that changed one
    script, the new service worker fetches that script, the manifest and itself; not
    the 25 MB of Pyodide, the wheel and the snapshot again."""
    sys.path.insert(0, REPO)
    import build
    dist = str(tmp_path / "dist")
    shutil.copytree(site.dist, dist)
    copy = Site(dist)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(copy.blank_url)
        page.evaluate(REGISTER, copy.url + "sw.js")
        first = [p for p in copy.requests if p != PREFIX + "_test/blank.html"]
        assert PREFIX + "pyodide/pyodide.asm.wasm.gz" in first

        # the redeploy: one script changed, the manifest and sw.js rewritten as build.py does
        with open(os.path.join(dist, "app", "search.js"), "a") as f:
            f.write("\n// redeployed\n")
        files = sorted(site_files(dist) - {"sw.js"})
        hashes = {p: build.sha256_file(os.path.join(dist, p)) for p in files}
        with open(os.path.join(dist, "manifest.json")) as f:
            manifest = json.load(f)
        manifest["files"] = {p: h for p, h in hashes.items() if p != "manifest.json"}
        with open(os.path.join(dist, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        hashes["manifest.json"] = build.sha256_file(os.path.join(dist, "manifest.json"))
        build.write_service_worker(dist, files, hashes)

        del copy.requests[:]
        page.evaluate("""async () => {
          const registration = await navigator.serviceWorker.getRegistration();
          const changed = new Promise((r) =>
            navigator.serviceWorker.addEventListener("controllerchange", r));
          await registration.update();
          await changed;
        }""")
        assert sorted(set(copy.requests)) == sorted(
            PREFIX + p for p in ("app/search.js", "manifest.json", "sw.js"))
        # and what it serves is the new content
        text = page.evaluate("async (u) => (await fetch(u)).text()", copy.url + "app/search.js")
        assert text.endswith("// redeployed\n")
    finally:
        context.close()
        copy.close()
