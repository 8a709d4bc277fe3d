"""Assemble the deployable site in dist/, and serve it locally.

    python build.py                  build dist/
    python build.py serve [--port N] build, then serve dist/ on http://127.0.0.1:N/
                                     (--no-build: serve dist/ as it is; --port 0: any free port)

dist/ is plain static files with relative URLs only, so any static host can serve it,
under any sub-path (GitHub Pages' /repo/ included):

    index.html, app/          the page and its JavaScript (copied as is)
    wheels/wetron-*.whl       the Python package, installed into Pyodide by the worker
    pyodide/                  the Pyodide runtime from node_modules/pyodide, plus
                              snapshot.bin.gz: a memory image of Python with wetron imported
    examples/                 small example models, and index.json listing them
    opdocs/                   operator documentation by domain (tools/gen_op_metadata.py),
                              fetched when the reader opens an op's; cached on demand
    formats.json              the formats Wetron reads (wetron.formats.manifest()): the
                              page's file-choosing rule, accept list and format list
    manifest.json             where the worker finds the wheel and snapshot; content hashes
    sw.js                     service worker precaching every file (offline after one visit)

Standard library only; npm (for node_modules) and node (for the snapshot) run as
subprocesses.
"""
import argparse
import base64
import gzip
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile

ROOT = os.path.dirname(os.path.abspath(__file__))
DIST = os.path.join(ROOT, "dist")
WHEELS = os.path.join(ROOT, "wheels")
PACKAGE = os.path.join(ROOT, "py", "wetron")
PYODIDE = os.path.join(ROOT, "node_modules", "pyodide")
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "python_stdlib.zip", "pyodide-lock.json"]
# gzipped into dist/ (app/parse-worker.js decompresses it): 9.6 -> 3.6 MB on a first visit
PYODIDE_WASM = "pyodide.asm.wasm"
SNAPSHOT = "pyodide/snapshot.bin.gz"
OPDOCS = os.path.join(ROOT, "opdocs")
# cached by the service worker when first fetched, not at install (app/sw.js ON_DEMAND)
ON_DEMAND_DIRS = ("opdocs/",)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)   # fixed, so the same sources give the same wheel bytes

MIME_TYPES = {".mjs": "application/javascript", ".js": "application/javascript",
              ".wasm": "application/wasm", ".json": "application/json",
              ".html": "text/html", ".css": "text/css", ".svg": "image/svg+xml",
              ".png": "image/png", ".onnx": "application/octet-stream",
              ".whl": "application/zip", ".zip": "application/zip",
              ".gz": "application/gzip", ".bin": "application/octet-stream"}


def log(message):
    print(f"build: {message}", flush=True)


# --- the wheel ------------------------------------------------------------------

def project_metadata():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    return project


def _record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def build_wheel(out_dir=WHEELS):
    """A pure-Python wheel of py/wetron (package data included), written with zipfile.
    Returns its path."""
    project = project_metadata()
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    files = []   # (archive name, bytes)
    for folder, dirs, names in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for fname in sorted(names):
            if fname.endswith((".pyc", ".pyo")) or fname.startswith("."):
                continue
            path = os.path.join(folder, fname)
            arcname = os.path.relpath(path, os.path.dirname(PACKAGE)).replace(os.sep, "/")
            with open(path, "rb") as f:
                files.append((arcname, f.read()))
    metadata = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                f"Summary: {project.get('description', '')}",
                f"Requires-Python: {project.get('requires-python', '>=3.11')}"]
    files.append((f"{dist_info}/METADATA", ("\n".join(metadata) + "\n").encode()))
    files.append((f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: wetron-build.py\n"
                  b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    scripts = project.get("scripts", {})
    if scripts:
        lines = ["[console_scripts]"] + [f"{k} = {v}" for k, v in scripts.items()]
        files.append((f"{dist_info}/entry_points.txt", ("\n".join(lines) + "\n").encode()))
    files.append((f"{dist_info}/top_level.txt", f"{name}\n".encode()))
    record = [f"{arc},{_record_hash(data)},{len(data)}" for arc, data in files]
    record.append(f"{dist_info}/RECORD,,")
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}-{version}-py3-none-any.whl")
    tmp = f"{path}.tmp-{os.getpid()}"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as whl:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            whl.writestr(info, data)
    os.replace(tmp, path)   # whole or not at all: other builds may be reading it
    return path


# --- node: npm packages and the memory snapshot ---------------------------------------

def ensure_node_modules():
    if os.path.exists(os.path.join(PYODIDE, "pyodide.mjs")):
        return
    lock = os.path.exists(os.path.join(ROOT, "package-lock.json"))
    command = ["npm", "ci" if lock else "install", "--no-audit", "--no-fund"]
    log(" ".join(command))
    subprocess.run(command, cwd=ROOT, check=True)


# Runs in node: start Python, install the wheel, import every wetron module, and save
# the WebAssembly memory. The worker restores it instead of booting Python and
# importing again (see app/parse-worker.js, which must do the same steps otherwise).
#
# Reproducible: the same sources give the same snapshot bytes, so a redeploy that changed
# nothing keeps its content hash and returning visitors keep their copy. Python's memory
# would otherwise differ from run to run (about 9 MB of 31 MB) through
#   - hash randomization: every dict and set of str laid out differently -> PYTHONHASHSEED
#   - randomness: the `random` module's Mersenne Twister states, the allocator's ChaCha
#     key (all from node:crypto) -> a fixed pseudo-random stream while the snapshot is made
#   - the clock: time.time() kept by modules at import, file times of the unpacked wheel
#     left in stat buffers -> Date.now and performance.now count from a fixed epoch
#   - where the build runs: sys.executable and $_ are node's script path -> fixed name
# The snapshot is public and shared by every visitor anyway, so none of these fixed values
# is a secret given away; the browser's clock and randomness take over once it is restored.
SNAPSHOT_SCRIPT = r"""
import nodeCrypto from "node:crypto";
let seed = 0x9e3779b9;
function fill(view) {   // xorshift32: the same bytes every build
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < bytes.length; i++) {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    bytes[i] = seed & 0xff;
  }
  return view;
}
nodeCrypto.randomFillSync = fill;
if (globalThis.crypto) globalThis.crypto.getRandomValues = fill;
Math.random = () => { const b = fill(new Uint32Array(1)); return b[0] / 2 ** 32; };
const EPOCH = Date.UTC(1980, 0, 1);   // as the wheel's ZIP_DATE; each reading 1 ms later
let wall = 0, monotonic = 0;
Date.now = () => EPOCH + ++wall;
performance.now = () => ++monotonic;

const { loadPyodide } = await import(%(pyodide)s);
const { readFileSync, writeFileSync } = await import("node:fs");
const py = await loadPyodide({ indexURL: %(index)s, _makeSnapshot: true,
                               _sysExecutable: "./this.program",   // as in a browser
                               env: { PYTHONHASHSEED: "0" } });
py.unpackArchive(new Uint8Array(readFileSync(%(wheel)s)), "wheel");
py.runPython(`
import importlib, pkgutil, wetron
importlib.invalidate_caches()
names = sorted(m.name for m in pkgutil.walk_packages(wetron.__path__, "wetron.")
               if not m.name.endswith("__main__"))
for name in names:
    importlib.import_module(name)
import wetron.web
del names, name
`);
writeFileSync(%(out)s, py.makeMemorySnapshot());
"""


def build_snapshot(wheel, out_path):
    """Write the gzip-compressed memory snapshot (about 6 MB, 31 MB raw)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "snapshot.bin")
        script = os.path.join(tmp, "snapshot.mjs")
        index = os.path.join(PYODIDE, "")
        with open(script, "w") as f:
            f.write(SNAPSHOT_SCRIPT % {
                "pyodide": json.dumps("file://" + os.path.join(PYODIDE, "pyodide.mjs")),
                "index": json.dumps(index), "wheel": json.dumps(wheel),
                "out": json.dumps(raw)})
        # TZ: Python's time module keeps the zone (time.timezone, tzname) at import
        env = dict(os.environ, TZ="UTC")
        run = subprocess.run(["node", script], cwd=tmp, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            # node echoes the whole minified line of pyodide.asm.mjs; keep the end
            raise SystemExit(f"build: snapshot failed:\n{run.stderr[-3000:]}")
        gzip_file(raw, out_path)


def gzip_file(path, out_path):
    with open(path, "rb") as src, open(out_path, "wb") as dst:
        # mtime=0 and no file name in the header: the same input gives the same bytes
        with gzip.GzipFile("", mode="wb", compresslevel=9, fileobj=dst, mtime=0) as gz:
            shutil.copyfileobj(src, gz)


# --- the site ---------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def copy_examples(dist):
    """examples/*.onnx -> dist/examples/, listed in dist/examples/index.json with the
    titles from examples/examples.json (written by examples/make_examples.py)."""
    src = os.path.join(ROOT, "examples")
    out = os.path.join(dist, "examples")
    os.makedirs(out, exist_ok=True)
    titles = {}
    listing = os.path.join(src, "examples.json")
    if os.path.exists(listing):
        with open(listing) as f:
            titles = {e["file"]: e for e in json.load(f)}
    entries = []
    found = sorted(f for f in os.listdir(src) if f.endswith(".onnx")) if os.path.isdir(src) else []
    # in examples.json's order, then any others
    for fname in sorted(found, key=lambda f: list(titles).index(f) if f in titles else len(titles)):
        shutil.copy2(os.path.join(src, fname), os.path.join(out, fname))
        info = titles.get(fname, {})
        entries.append({"name": info.get("name", fname[:-5]), "file": fname,
                        "url": f"examples/{fname}",
                        "description": info.get("description", ""),
                        "size": os.path.getsize(os.path.join(out, fname))})
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(entries, f, indent=1)
    return entries


WARM_DOCUMENT = "examples/warm-document.json"


def write_warm_document(dist, examples):
    """dist/examples/warm-document.json: the first example's graph document, which the page
    lays out and draws once, unseen, as soon as it loads (app/viewer.js warmUp), while
    Python is still starting: the first model's layout and frame then find warm code,
    rasterised glyphs and compiled GPU programs (SwiftShader: ~0.8 s of the main thread,
    which must not fall after Python is ready, when the user's file may come)."""
    if not examples:
        return None
    sys.path.insert(0, os.path.join(ROOT, "py"))
    try:
        import wetron
    finally:
        sys.path.pop(0)
    text = wetron.open(os.path.join(dist, "examples", examples[0]["file"])).dumps()
    with open(os.path.join(dist, WARM_DOCUMENT), "w") as f:
        f.write(text)
    return WARM_DOCUMENT


def write_formats(dist):
    """dist/formats.json: every format's name, extensions, companion files and
    capabilities, from the format modules themselves (wetron.formats.manifest())."""
    sys.path.insert(0, os.path.join(ROOT, "py"))
    try:
        from wetron import formats
    finally:
        sys.path.pop(0)
    listing = formats.manifest()
    with open(os.path.join(dist, "formats.json"), "w") as f:
        json.dump(listing, f, indent=1, ensure_ascii=False)
    return listing


def site_files(dist):
    """Every file of the site, relative, '/'-separated, sorted."""
    out = []
    for folder, dirs, names in os.walk(dist):
        dirs.sort()
        for fname in sorted(names):
            out.append(os.path.relpath(os.path.join(folder, fname), dist).replace(os.sep, "/"))
    return out


def write_service_worker(dist, files, hashes):
    """dist/sw.js from app/sw.js: every file with its content hash, and a version that
    changes whenever any file does, so a new deployment installs a new worker (which
    downloads only the files whose hash changed)."""
    version = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:16]
    with open(os.path.join(ROOT, "app", "sw.js")) as f:
        template = f.read()
    listing = json.dumps({p: hashes[p] for p in files}, indent=1)
    on_demand = json.dumps([p for p in files if p.startswith(ON_DEMAND_DIRS)])
    text = (template.replace('"__VERSION__"', json.dumps(version))
                    .replace("{/*__FILES__*/}", listing)
                    .replace("[/*__ON_DEMAND__*/]", on_demand))
    with open(os.path.join(dist, "sw.js"), "w") as f:
        f.write(text)
    return version


def build(dist=DIST, snapshot=True):
    """Build the site into a fresh folder, then swap it in place of `dist`, so a server
    running meanwhile (another test session) never sees a half-built site."""
    ensure_node_modules()
    work = f"{dist}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        version = _build_into(work, snapshot)
        old = f"{dist}.old-{os.getpid()}"
        if os.path.isdir(dist):
            os.rename(dist, old)
        os.rename(work, dist)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{os.path.relpath(dist, ROOT)}/ ready, version {version}")
    return dist


def _build_into(dist, snapshot):
    os.makedirs(dist)
    index = os.path.join(ROOT, "index.html")
    if os.path.exists(index):
        shutil.copy2(index, os.path.join(dist, "index.html"))
    else:
        log("warning: index.html is missing; the site has no page")
    shutil.copytree(os.path.join(ROOT, "app"), os.path.join(dist, "app"),
                    ignore=shutil.ignore_patterns("sw.js", ".*", "*~"))

    wheel = build_wheel()
    os.makedirs(os.path.join(dist, "wheels"))
    wheel_url = "wheels/" + os.path.basename(wheel)
    shutil.copy2(wheel, os.path.join(dist, wheel_url))
    log(f"wheel {wheel_url}")

    os.makedirs(os.path.join(dist, "pyodide"))
    for fname in PYODIDE_FILES:
        shutil.copy2(os.path.join(PYODIDE, fname), os.path.join(dist, "pyodide", fname))
    gzip_file(os.path.join(PYODIDE, PYODIDE_WASM), os.path.join(dist, "pyodide", PYODIDE_WASM + ".gz"))
    if snapshot:
        build_snapshot(os.path.join(dist, wheel_url), os.path.join(dist, SNAPSHOT))
        log(f"snapshot {SNAPSHOT} ({os.path.getsize(os.path.join(dist, SNAPSHOT)) >> 10} KiB)")

    examples = copy_examples(dist)
    log(f"{len(examples)} examples")
    write_warm_document(dist, examples)
    if os.path.isdir(OPDOCS):
        shutil.copytree(OPDOCS, os.path.join(dist, "opdocs"), ignore=shutil.ignore_patterns(".*"))
    log(f"{len(write_formats(dist))} formats")

    files = site_files(dist)
    hashes = {p: sha256_file(os.path.join(dist, p)) for p in files}
    with open(os.path.join(PYODIDE, "package.json")) as f:
        pyodide_version = json.load(f)["version"]
    manifest = {"name": "wetron", "version": project_metadata()["version"],
                "pyodide": pyodide_version,
                "wheel": wheel_url,
                "snapshot": SNAPSHOT if snapshot else None,
                "examples": "examples/index.json",
                "files": hashes}
    with open(os.path.join(dist, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    files.append("manifest.json")
    hashes["manifest.json"] = sha256_file(os.path.join(dist, "manifest.json"))
    return write_service_worker(dist, files, hashes)


# --- serve ------------------------------------------------------------------------

class SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def end_headers(self):
        # revalidate every time: a rebuilt site shows up on reload (the service worker
        # still serves its own precache until its version changes)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()


def serve(dist, port, host="127.0.0.1"):
    handler = lambda *a, **k: SiteHandler(*a, directory=dist, **k)
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(f"Serving {dist} at http://{host}:{server.server_address[1]}/  (Ctrl-C stops)",
              flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build (and serve) the Wetron site.")
    parser.add_argument("command", nargs="?", choices=["build", "serve"], default="build")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-snapshot", action="store_true",
                        help="skip the Python memory snapshot (the worker then cold-starts)")
    parser.add_argument("--no-build", action="store_true",
                        help="serve: serve dist/ as it is, without building first")
    parser.add_argument("--out", default=os.environ.get("WETRON_DIST", DIST),
                        help="the folder to build into (default dist/, or $WETRON_DIST)")
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    if not (args.command == "serve" and args.no_build):
        build(out, snapshot=not args.no_snapshot)
    if args.command == "serve":
        serve(out, args.port)


if __name__ == "__main__":
    main()
