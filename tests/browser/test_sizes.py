"""The Sizes panel (app/cost-view.js sizesPanel, Viewer.setSizes): a real export with
symbolic batch, height and width (tests/shape_models.py, inner shapes written as
floor(...) expressions by ONNX Runtime's symbolic shape inference) opened in the page;
without sizes nothing that needs them is counted and the panel lists them; sizes typed
into the panel and applied make the total the one of the same network exported at those
static sizes, a node's output shape concrete, and the share link keep them."""
import urllib.parse

import pytest

import shape_models
import wetron
from wetron import cost

from .harness import OPENED, open_in_page

pytestmark = pytest.mark.timeout(300)

SIZES = shape_models.STATIC_DETECTOR   # batch 2, height 64, width 96
CONV = "/stem/stem.0/Conv"             # its output is [batch, 8, floor(height/2 - 1/2) + 1, ...]


def show_model(page):
    assert page.evaluate("wetron.select(null)")
    page.wait_for_selector("#sidebar .sz-input")


def cost_row(page, key):
    """The model's "Cost" section's value for `key` ("MACs", "needs sizes", ...), or None."""
    return page.evaluate("""(key) => {
        const section = [...document.querySelectorAll('#sidebar section')].find((s) => s.querySelector('h3').textContent === 'Cost');
        const row = section && [...section.querySelectorAll('.sb-row')].find((r) => r.querySelector('.sb-key').textContent === key);
        return row ? row.querySelector('.sb-value').textContent : null; }""", key)


def conv_output(page):
    """The selected conv's output type line in the sidebar (and its tooltip)."""
    assert page.evaluate("(n) => wetron.select(n)", CONV)
    page.wait_for_function("(n) => wetron.state().selected === n", arg=CONV)
    return page.evaluate("""() => {
        const section = [...document.querySelectorAll('#sidebar section')].find((s) => s.querySelector('h3').textContent === 'Outputs');
        const line = section.querySelector('.sb-mono.sb-muted');
        return line.firstChild.textContent; }""")


def test_sizes_panel_sets_sizes_and_figures_follow(page, site):
    path = shape_models.detector("detector_sym")
    static = cost.summary(wetron.open(shape_models.detector("detector_static")))["total"]
    unset = cost.summary(wetron.open(path))["total"]
    assert unset["needs"] == ["batch", "height", "width"] and unset["unsized"] > 0
    open_in_page(page, site, path)
    show_model(page)

    # no sizes: the panel lists the model's symbols, empty; nothing is counted at a guess
    fields = page.evaluate("[...document.querySelectorAll('#sidebar .sz-input')].map((f) => [f.dataset.size, f.value])")
    assert fields == [["batch", ""], ["height", ""], ["width", ""]]
    # (floor(...) dims are no polynomials: no exact figure; what is counted so far is secondary)
    assert "macs_exact" not in unset
    assert cost_row(page, "MACs") == f"needs sizes: batch, height, width (counted so far {unset['macs']})"
    assert cost_row(page, "sizes") == f"set batch, height, width in Sizes below to count {unset['unsized']} more nodes"
    assert page.inner_text("#sidebar .cs-needs") == \
        f"needs sizes: set batch, height, width to count {unset['unsized']} more nodes (until then, no shares)"
    by_op = page.evaluate("""() => [...document.querySelectorAll('#sidebar .cs-by-op tbody tr')].map((r) =>
        [r.querySelector('.cs-op').dataset.op, r.querySelector('.cs-share') ? r.querySelector('.cs-share').textContent : null])""")
    assert [op for op, _ in by_op] == sorted(op for op, _ in by_op)   # not ranked by a partial total
    assert all(share in ("", None) for _, share in by_op)
    # the node's shape: its floor(...) expressions shown as "?"
    assert conv_output(page) == "float32[batch,8,?,?]"

    # sizes typed into the panel and applied
    show_model(page)
    for name, value in SIZES.items():
        page.fill(f"#sidebar .sz-input[data-size='{name}']", str(value))
    page.locator("#sidebar .sz-actions button", has_text="Apply").click()
    want = f"{static['macs']:,}"
    page.wait_for_function("(w) => [...document.querySelectorAll('#sidebar .sb-row')].some((r) => r.textContent.startsWith('MACs' + w))", arg=want)
    assert page.evaluate("wetron.state().status") == "ready"
    assert cost_row(page, "MACs").startswith(f"{static['macs']:,} (")
    assert cost_row(page, "FLOPs").startswith(f"{static['flops']:,} (")
    assert cost_row(page, "sizes") is None and cost_row(page, "at") == "batch=2, height=64, width=96"
    assert page.locator("#sidebar .cs-needs").count() == 0
    fields = page.evaluate("[...document.querySelectorAll('#sidebar .sz-input')].map((f) => [f.dataset.size, f.value])")
    assert fields == [["batch", "2"], ["height", "64"], ["width", "96"]]
    # the same node's shape, now concrete
    assert conv_output(page) == "float32[2,8,32,48]"
    # the share link keeps the sizes
    page.wait_for_function("location.search.includes('size=')")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert sorted(query["size"]) == ["batch=2", "height=64", "width=96"]


def test_module_boxes_never_show_a_partial_sum_as_the_figure(page, site):
    """A collapsed module whose nodes are not all counted (sizes not set) shows its FLOPs
    as a lower bound ("≥ ...") or "FLOPs not counted"; with the sizes set, the figure."""
    open_in_page(page, site, shape_models.detector("detector_sym"))
    page.evaluate("wetron.setMode('modules')")
    page.evaluate("wetron.collapse('stem')")

    def module_flops():
        return {b["name"]: [t for t in b["text"] if "FLOPs" in t]
                for b in page.evaluate("wetron.boxes()") if b["kind"] == "module"}
    unset = module_flops()
    assert unset and all(lines and (lines[0].startswith("≥ ") or lines[0] == "FLOPs not counted")
                         for lines in unset.values()), unset
    page.evaluate("(s) => wetron.setSizes(s)", SIZES)
    page.wait_for_function("!(wetron.boxes().find((b) => b.kind === 'module').text.join(' ').includes('≥'))")
    sized = module_flops()
    assert sized.keys() == unset.keys()
    assert all(not lines or (lines[0].endswith(" FLOPs") and not lines[0].startswith("≥"))
               for lines in sized.values()), sized   # (a module of 0 FLOPs says nothing)
    assert sum(1 for lines in sized.values() if lines) >= len(sized) // 2


def test_a_bad_size_is_refused_and_nothing_changes(page, site):
    path = shape_models.detector("detector")
    open_in_page(page, site, path)
    show_model(page)
    page.fill("#sidebar .sz-input[data-size='height']", "0")
    page.locator("#sidebar .sz-actions button", has_text="Apply").click()
    assert "wants an integer" in page.inner_text("#sidebar .sz-status")
    assert cost_row(page, "MACs").startswith("needs sizes: batch, height, width") and cost_row(page, "at") is None
    # a size the model does not have (through the API): the worker refuses it
    with pytest.raises(Exception, match="unknown size 'depth'"):
        page.evaluate("wetron.setSizes({depth: 3})")
    assert page.evaluate("wetron.state().status") == "ready"


def test_a_shared_link_reopens_at_its_sizes(page, site):
    path = shape_models.detector("detector_sym")
    static = cost.summary(wetron.open(shape_models.detector("detector_static")))["total"]
    page.set_default_timeout(120_000)
    sizes = "&".join(f"size={k}={v}" for k, v in SIZES.items())
    page.goto(f"{site.url}?url={urllib.parse.quote(site.share(path))}&{sizes}")
    page.evaluate("wetron.ready()")
    page.wait_for_function(OPENED)
    page.wait_for_function("(w) => [...document.querySelectorAll('#sidebar .sb-row')].some((r) => r.textContent.startsWith('MACs' + w))",
                           arg=f"{static['macs']:,}")
    assert conv_output(page) == "float32[2,8,32,48]"


@pytest.mark.parametrize("which", ["torch_cnn", "torch_transformer"])
def test_unset_sizes_show_exact_polynomials(page, site, which):
    """A torch export with a dynamic batch (and sequence) without sizes: Cost gives the
    MACs and FLOPs as the exact polynomials `wetron cost` computes (a CNN: one term,
    4.09G·batch, so the cost summary's header carries the term and its shares are exact;
    a transformer: several terms, no shares, op rows by name); never "≥ 0" or "unknown"."""
    import models
    path = getattr(models, which)()
    t = cost.summary(wetron.open(path))["total"]
    assert t["needs"] and t["macs_exact"]
    open_in_page(page, site, path)
    show_model(page)
    text = cost.poly_text(t["macs_exact"], True)
    shown = cost_row(page, "MACs")
    # the same terms (the page's numbers to 3 significant digits, the CLI's to 4)
    terms = lambda x: [w.split("·")[1:] for w in x.split(" + ")]
    assert terms(shown) == terms(text) and len(terms(text)) == len(t["macs_exact"]), (shown, text)
    assert "≥" not in shown and "unknown" not in shown and "needs sizes" not in shown
    rows = page.evaluate("""() => [...document.querySelectorAll('#sidebar .cs-by-op tbody tr')].map((r) =>
        [r.querySelector('.cs-op').dataset.op, r.querySelector('.cs-share') ? r.querySelector('.cs-share').textContent : null])""")
    header = page.evaluate("[...document.querySelectorAll('#sidebar .cs-by-op th')].map((h) => h.textContent)")
    if len(t["flops_exact"]) == 1:
        assert header[3] == "FLOPs/" + "·".join(t["flops_exact"][0][1])
        assert all(share.endswith("%") for _, share in rows)
        assert abs(sum(float(s[:-1]) for _, s in rows) - 100) < 0.1 * len(rows)
    else:
        assert header[3] == "FLOPs" and [op for op, _ in rows] == sorted(op for op, _ in rows)
        assert all(share in ("", None) for _, share in rows)
        assert page.locator("#sidebar .cs-by-op td.cs-exact").count() > 0
