"""What shape inference and cost add to opening a model: the time of
`wetron.open(path).dumps()` with them (as shipped) and without (cost.sized_cost, which
model._graph_detail calls, replaced by the declared types only), in CPU time of this process
(the machine may be shared), on a large transformer export
(~50k nodes, built by tests/shape_models.py and cached) or the files given. Prints
medians (and best runs) over --runs, interleaved; target: under 30% added.

    python bench/shapes_cost_bench.py [--runs 5] [--layers 550] [extra.onnx ...]
"""
import argparse
import gc
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "py"))
sys.path.insert(0, os.path.join(REPO, "tests"))

import wetron                      # noqa: E402
from wetron import cost, shapes   # noqa: E402

TARGET = 0.30


def _declared_only(graph):
    s = shapes.Shapes()
    s.types.update(graph.types)
    return s


class _Without:
    """cost.sized_cost -> declared types only, and no cost entry."""
    def __enter__(self):
        self.sized, self.document = cost.sized_cost, cost.document
        cost.sized_cost = lambda graph, *a, **k: (_declared_only(graph), None)
        cost.document = lambda *a, **k: {}

    def __exit__(self, *exc):
        cost.sized_cost, cost.document = self.sized, self.document


def _time_dumps(path):
    gc.collect()   # start each run from the same heap
    t = time.process_time()
    text = wetron.open(path).dumps()
    return time.process_time() - t, len(text)


def bench(path, runs):
    with_s, without_s = [], []
    size_with = size_without = 0
    for _ in range(runs):   # interleaved, so drift hits both alike
        with _Without():
            t, size_without = _time_dumps(path)
        without_s.append(t)
        t, size_with = _time_dumps(path)
        with_s.append(t)
    m = wetron.open(path)
    g = m.graphs[0]
    t = time.process_time()
    shaped = shapes.infer(g)
    t_infer = time.process_time() - t
    from wetron import hierarchy
    groups, node_group = hierarchy.derive(g)
    t = time.process_time()
    cost.document(g, cost.sized_cost(g)[1], groups, node_group)
    t_cost = time.process_time() - t
    a, b = statistics.median(with_s), statistics.median(without_s)
    added = (a - b) / b
    best = (min(with_s) - min(without_s)) / min(without_s)   # least disturbed by other load
    print(f"{os.path.basename(path)}: {len(g.nodes):,} nodes, {len(shaped.inferred):,} values inferred")
    print(f"  open+dumps without shapes/cost: {b * 1000:8.1f} ms  ({size_without / 1e6:.1f} MB JSON)")
    print(f"  open+dumps with shapes/cost:    {a * 1000:8.1f} ms  ({size_with / 1e6:.1f} MB JSON)")
    print(f"  added: {added * 100:.1f}% of the median, {best * 100:.1f}% of the best run "
          f"(target < {TARGET * 100:.0f}%: {'met' if added < TARGET else 'MISSED'}); "
          f"shapes.infer {t_infer * 1000:.1f} ms, cost.document {t_cost * 1000:.1f} ms")
    return added


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--layers", type=int, default=550)
    p.add_argument("models", nargs="*")
    args = p.parse_args()
    paths = args.models
    if not paths:
        import shape_models
        paths = [shape_models.large_transformer(args.layers)]
    for path in paths:
        bench(path, args.runs)


if __name__ == "__main__":
    main()
