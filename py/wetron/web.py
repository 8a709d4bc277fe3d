"""Entry points for the page's parse worker (Pyodide).

The worker hands Python a JS reader per file: an object with `size` and
`read(offset, length)` returning a Uint8Array (FileReaderSync on a Blob slice), so
the file is read in ranges and never copied whole into the WebAssembly heap.
Everything crosses back as one JSON string (faster than toJs for big graphs).
"""
import gc
import json
import posixpath

from . import open as open_model
from .errors import ModelError
from .source import BytesSource, Source, refuse_escaping

_current = None  # the last model opened, kept for tensor_values()


# A read in the browser costs ~1 ms whatever its size up to ~64 kB (~3.5 ms per MB
# past that): the file's head, which format detection and the first parse steps read
# in several small pieces, is read once.
HEAD = 64 << 10


class JsSource(Source):
    """A Source over a JS reader object (see module doc)."""

    def __init__(self, reader, name):
        self.name = name
        self.size = int(reader.size)
        self._reader = reader
        self._head = None

    def _read(self, offset, length):
        if offset + length <= HEAD:
            if self._head is None:
                self._head = self._reader.read(0, min(HEAD, self.size)).to_bytes()
            if offset + length <= len(self._head):
                return self._head[offset:offset + length]
        return self._reader.read(offset, length).to_bytes()


# Models of up to this many nodes (all graphs together) get their detail in the same
# document: computing it here costs less than another worker parsing the file again.
INLINE_DETAIL_NODES = 3000


def open_file(reader, name, companions=None, detail=True, opened=None):
    """Parse one file; `companions` maps a file's path relative to the model's folder
    (and its base name) -> JS reader (external data, SavedModel variables, TF.js
    shards, …). A path the formats ask for ('variables/variables.index') is also looked
    up by its base name, for files picked one by one rather than as a folder.
    detail=False leaves out what open_detail gives (Model.to_dict); "auto" leaves it
    out only for models of more than INLINE_DETAIL_NODES nodes. `opened(nodes,
    with_detail)`, a JS function, is told as soon as the file is parsed, before the
    document is written (the page then knows whether to ask for the detail elsewhere).
    Returns the graph document as a JSON string, or {"error": message} as JSON."""
    global _current
    _current = None  # a failed open must not leave the previous model answering
    try:
        model = _open(reader, name, companions)
        if detail == "auto" or opened is not None:
            nodes = sum(len(g.nodes) for g in model.graphs)
            if detail == "auto":
                detail = nodes <= INLINE_DETAIL_NODES
            if opened is not None:
                opened(nodes, bool(detail))
        text = model.dumps(detail)
    except ModelError as e:
        return json.dumps({"error": str(e)})
    _current = model
    return text


def open_detail(reader, name, companions=None):
    """Parse one file for the part of its document that open_file(detail=False) leaves
    out (Model.detail_dict): the page's second parse worker computes it meanwhile.
    The model is not kept. JSON text, or {"error": message}."""
    try:
        return _open(reader, name, companions).dumps_detail()
    except ModelError as e:
        return json.dumps({"error": str(e)})


def current_detail(sizes_json=None):
    """Model.detail_dict of the last model opened, as JSON (when the second worker
    could not give it); sizes_json: '{"batch": 1, ...}', the sizes the user set in the
    page (app/sidebar.js), with which the shapes and cost are computed again."""
    if _current is None:
        return json.dumps({"error": "no model is open"})
    try:
        return _current.dumps_detail(_sizes(sizes_json))
    except ModelError as e:
        return json.dumps({"error": str(e)})


def _sizes(sizes_json):
    """{symbol: int} of the page's JSON text, checked against the model (ModelError)."""
    from . import sizes
    if not sizes_json:
        return None
    try:
        given = json.loads(str(sizes_json)[:100000])
    except ValueError:
        given = None
    if not isinstance(given, dict):
        raise ModelError("sizes: wants a JSON object of symbol -> integer", _current.file)
    return sizes.check(given, sizes.model_symbols(_current), _current.file)


def _open(reader, name, companions):
    others = {}
    if companions is not None:
        for key in companions.keys():
            others[str(key)] = JsSource(companions.get(key), str(key))
    return open_model(JsSource(reader, name), companions=companion_lookup(others, name))


def companion_lookup(others, name):
    """The page's companion lookup for the model file `name`: others maps the paths of
    the files given with it (relative to its folder, and their base names) -> Source; a
    name the model gives is found as it is, else by its base name, and refused when it
    escapes the folder (source.refuse_escaping), as beside a file on disk."""
    def companion(path):
        refuse_escaping(path, name)
        found = others.get(path)
        return found if found is not None else others.get(posixpath.basename(path))
    companion.names = lambda: list(others)   # the files given with the model
    return companion


def collect_garbage():
    """Free the models no longer used: most formats' tensors keep their parser, which
    keeps the model, so a model dropped is freed only by the cycle collector, which
    Python may not run for a long time. The worker calls this once it has answered."""
    gc.collect()


_warm_files = {}  # name -> bytes of the warm-up's examples, read once


def warm_up(reader, name):
    """Parse a file (a small example), leaving the last model opened as it is: the page
    does it at start-up so the browser optimises the parser's code before the user's
    file arrives (app/parse-worker.js). The file is read once and parsed from memory
    after that: the step is short, and it is Python's code that needs warming, not the
    browser's reads; the document is written too (its code warmed), not returned.
    warm_up_done() ends the warm-up."""
    data = _warm_files.get(name)
    if data is None:
        data = _warm_files[name] = reader.read(0, int(reader.size)).to_bytes()
    try:
        open_model(BytesSource(data, name)).dumps()
    except ModelError:
        pass


def warm_up_done():
    """Free the examples' bytes. The warm-up's models are left to the collection after
    the next open (collect_garbage): collecting now (~0.1-0.2 s) would delay the file
    whose request ended the warm-up."""
    _warm_files.clear()


def tensor_values(index, limit=1000):
    """Values of tensor `index` of the last model opened, as JSON."""
    if _current is None:
        return json.dumps({"error": "no model is open"})
    try:
        return json.dumps(_current.tensor_values(int(index), int(limit)), allow_nan=False)
    except ModelError as e:
        return json.dumps({"error": str(e)})


# --- tensor viewer: statistics and .npy (wetron.tensor_stats) ---------------------------

def tensor_stats(index, progress=None):
    """Statistics and histogram of tensor `index` of the last model opened, as JSON.
    `progress(fraction)`: a JS function called as the tensor is read."""
    from . import tensor_stats as stats
    if _current is None:
        return json.dumps({"error": "no model is open"})
    try:
        return json.dumps(stats.tensor_stats(_current, int(index), progress=progress),
                          allow_nan=False)
    except ModelError as e:
        return json.dumps({"error": str(e)})


def tensor_npy(index, write):
    """Tensor `index` as a .npy file, handed to the JS function `write(Uint8Array)`
    piece by piece (so the whole file is never one block of the WebAssembly heap).
    Returns JSON {"bytes", "note"} or {"error"}."""
    from . import tensor_stats as stats
    if _current is None:
        return json.dumps({"error": "no model is open"})
    try:
        from pyodide.ffi import to_js
    except ImportError:     # CPython (tests): hand the bytes as they are
        def to_js(b):
            return b

    class Pieces:
        size = 0

        def write(self, chunk):
            self.size += len(chunk)
            write(to_js(chunk))
    out = Pieces()
    try:
        note = stats.write_npy(_current, int(index), out)
    except ModelError as e:
        return json.dumps({"error": str(e)})
    return json.dumps({"bytes": out.size, "note": note})


# --- cost summary: the CLI's `cost --csv` / `cost --md` text (wetron.cost) --------------

def cost_export(fmt, sizes_json=None):
    """The main graph's cost report of the last model opened, as the CLI writes it:
    fmt "csv" (one row per node) or "markdown" (summary), at the sizes the user set
    (current_detail). Returns JSON {"text"} or {"error"}."""
    from . import cost
    writers = {"csv": cost.to_csv, "markdown": cost.to_markdown}
    if fmt not in writers:
        return json.dumps({"error": f"unknown cost report format '{fmt}' (csv or markdown)"})
    if _current is None:
        return json.dumps({"error": "no model is open"})
    try:
        return json.dumps({"text": writers[fmt](_current, _sizes(sizes_json))})
    except ModelError as e:
        return json.dumps({"error": str(e)})
