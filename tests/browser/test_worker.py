"""The parse worker (app/parse-worker.js) in Chromium: Pyodide + the wetron wheel give
the same graph documents as wetron in CPython, for real models sent as Files."""
import json
import os

import pytest

import models
import wetron
from .harness import ParseWorker

pytestmark = pytest.mark.timeout(600)


def cpython_document(path):
    return json.loads(wetron.open(path).dumps())


def cpython_answer(path):
    """What the worker must answer for `path`: the document, or the error message."""
    try:
        return "graph", json.loads(wetron.open(path).dumps())
    except wetron.ModelError as e:
        return "error", str(e)


def test_worker_starts_from_the_snapshot(parse_worker, page):
    ready = parse_worker.ready()
    assert ready["snapshot"] is True
    assert ready["ms"] > 0
    assert any("Python ready" in line and "memory snapshot" in line for line in page.console_lines)


def test_worker_starts_cold_without_the_snapshot(page, site):
    page.goto(site.blank_url)
    worker = ParseWorker(page, site, site.url + "app/parse-worker.js?snapshot=0")
    ready = worker.ready()
    assert ready["type"] == "ready" and ready["snapshot"] is False
    doc = ParseWorker.document(worker.open(models.torch_cnn()))
    assert doc == cpython_document(models.torch_cnn())


def test_worker_falls_back_to_a_cold_start_when_the_snapshot_is_broken(page, site):
    def garbage(route):
        route.fulfill(status=200, body=b"\x1f\x8b not really gzip",
                      headers={"Content-Type": "application/gzip"})
    page.context.route("**/snapshot.bin.gz", garbage)
    page.goto(site.blank_url)
    worker = ParseWorker(page, site)
    ready = worker.ready()
    assert ready["type"] == "ready" and ready["snapshot"] is False, ready
    assert any("snapshot failed" in line for line in page.console_lines)
    doc = ParseWorker.document(worker.open(models.torch_transformer()))
    assert len(doc["graphs"][0]["nodes"]) == len(wetron.open(models.torch_transformer()).graphs[0].nodes)


@pytest.mark.parametrize("which", ["torch_cnn", "torch_transformer"])
def test_worker_document_equals_cpython(parse_worker, which):
    path = getattr(models, which)()
    answer = parse_worker.open(path)
    doc = ParseWorker.document(answer)
    model = wetron.open(path)
    assert len(doc["graphs"][0]["nodes"]) == len(model.graphs[0].nodes) > 10
    assert doc == json.loads(model.dumps())
    assert doc["model"]["file"] == os.path.basename(path)
    assert answer["progress"], "no progress message before the graph"


def test_worker_matches_cpython_on_every_backend_model(parse_worker, page, site):
    """All ~2,000 models of the onnx package's backend tests (and its shipped test data),
    through the worker as Files: the same document, or the same error, as CPython."""
    cases = models.backend_node_models()
    assert len(cases) > 1500
    batch_js = r"""
    async (items) => {
      const out = [];
      for (const [id, url, name] of items) {
        const file = new File([await (await fetch(url)).blob()], name);
        const a = await window.__parseWorker.request({ type: "open", id, file, name, companions: [] });
        out.push([a.type, a.type === "graph" ? a.json : a.message]);
      }
      return out;
    }"""
    mismatches = []
    for start in range(0, len(cases), 200):
        chunk = cases[start:start + 200]
        items = [[f"b{start + i}", site.share(path), os.path.basename(path)]
                 for i, (_name, path) in enumerate(chunk)]
        answers = page.evaluate(batch_js, items)
        for (name, path), (kind, payload) in zip(chunk, answers):
            want_kind, want = cpython_answer(path)
            got = json.loads(payload) if kind == "graph" else payload
            if (kind, got) != (want_kind, want):
                mismatches.append(name)
    assert not mismatches, f"{len(mismatches)} differ from CPython: {mismatches[:20]}"


def test_worker_reads_external_data_from_a_companion_file(parse_worker):
    path = models.torch_transformer_external()
    data = os.path.join(os.path.dirname(path), "model.onnx.data")
    assert os.path.exists(data)
    doc = ParseWorker.document(parse_worker.open(path, companions=[data]))
    model = wetron.open(path)
    assert doc == json.loads(model.dumps())
    external = [i for i, t in enumerate(doc["tensors"]) if t["location"] == "external"]
    assert external, "the model has no external tensors"
    assert not any("error" in doc["tensors"][i] for i in external)
    for i in external[:3]:
        answer = parse_worker.tensor(i, 50)
        assert answer["type"] == "tensor", answer
        assert json.loads(answer["json"]) == model.tensor_values(i, 50)


def test_worker_reports_a_missing_companion_in_the_document(parse_worker):
    path = models.torch_transformer_external()
    doc = ParseWorker.document(parse_worker.open(path))
    errors = [t["error"] for t in doc["tensors"] if t["location"] == "external"]
    assert errors and all("model.onnx.data" in e for e in errors)


def test_worker_tensor_values_equal_cpython(parse_worker):
    path = models.torch_cnn()
    doc = ParseWorker.document(parse_worker.open(path))
    model = wetron.open(path)
    for i in range(min(len(doc["tensors"]), 8)):
        for limit in (0, 7, 100000):
            answer = parse_worker.tensor(i, limit)
            assert answer["type"] == "tensor", answer
            assert json.loads(answer["json"]) == model.tensor_values(i, limit)


def test_worker_opens_a_url(parse_worker):
    path = models.torch_cnn()
    answer = parse_worker.open_url(parse_worker.site.share(path))
    doc = ParseWorker.document(answer)
    assert doc == cpython_document(path)
    assert any("Downloading cnn.onnx" in m for m in answer["progress"])


@pytest.mark.console_errors_ok      # the browser logs the failed download itself
def test_worker_reports_a_failed_download(parse_worker):
    answer = parse_worker.open_url(parse_worker.site.url + "no-such-model.onnx")
    assert answer["type"] == "error"
    assert "404" in answer["message"] and "\n" not in answer["message"]


def test_worker_answers_bad_files_with_one_line_and_keeps_working(parse_worker, tmp_path):
    good = models.torch_cnn()
    with open(good, "rb") as f:
        data = f.read()
    bad = {"notes.txt": b"these are not the weights you are looking for\n" * 20,
           "empty.onnx": b"",
           "truncated.onnx": data[:len(data) // 3],
           "noise.onnx": os.urandom(5000)}
    for name, content in bad.items():
        path = tmp_path / name
        path.write_bytes(content)
        answer = parse_worker.open(str(path))
        kind, want = cpython_answer(str(path))
        assert answer["type"] == kind, (name, answer)
        if kind == "error":
            message = answer["message"]
            assert message == want
            assert "\n" not in message and "Traceback" not in message
    assert ParseWorker.document(parse_worker.open(good)) == cpython_document(good)


def test_worker_tensor_before_any_model_is_an_error(parse_worker):
    answer = parse_worker.tensor(0, 10)
    assert answer["type"] == "error" and "no model" in answer["message"]


def test_requests_sent_before_ready_wait_for_it(page, site):
    page.goto(site.blank_url)
    worker = ParseWorker(page, site)
    # no ready() first: the request is posted while Python is still starting
    answer = worker.open(models.torch_cnn())
    assert ParseWorker.document(answer) == cpython_document(models.torch_cnn())
    assert page.evaluate("window.__parseWorker.ready.then(r => r.type)") == "ready"


def test_example_models_open_in_the_worker(parse_worker, site):
    examples = json.loads(open(os.path.join(site.dist, "examples", "index.json")).read())
    assert len(examples) >= 2
    for entry in examples:
        answer = parse_worker.open_url(site.url + entry["url"])
        doc = ParseWorker.document(answer)
        assert doc == cpython_document(os.path.join(site.dist, "examples", entry["file"]))
        assert doc["graphs"][0].get("groups"), f"{entry['file']} shows no module hierarchy"
