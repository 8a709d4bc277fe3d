"""Command line: `python -m wetron info MODEL [--json]`, `graph MODEL`,
`tensor MODEL NAME [--stats] [--npy OUT.npy]`, `cost MODEL [--csv|--md|--json]`;
`graph` and `cost` take `--size NAME=N` (wetron.sizes)."""
import argparse
import collections
import json
import os
import sys

from . import cost, sizes, tensor_stats
from . import open as open_model
from .errors import ModelError


def summary(model):
    g = model.graphs[0]
    weights = {t.name for t in g.initializers}
    ops = collections.Counter(n.op for n in g.nodes)
    return {
        "file": model.file, "format": model.format, "format_version": model.format_version,
        "producer": model.producer,
        "imports": [list(i) for i in model.imports],
        "graph": {"name": g.name, "nodes": len(g.nodes),
                  "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
                  "inputs": [n for n in g.inputs if n not in weights],
                  "outputs": list(g.outputs)},
        "subgraphs": len(model.graphs) - 1 - sum(1 for _ in model.functions),
        "functions": len(model.functions),
        "parameters": model.parameters, "weight_bytes": model.weight_bytes,
        "warnings": list(model.warnings),
    }


def _human(n):
    for unit in ("", "K", "M", "G", "T"):
        if abs(n) < 1000:
            return f"{n:.4g}{unit}"
        n /= 1000
    return f"{n:.4g}P"


def print_summary(s, out):
    g = s["graph"]
    w = out.write
    w(f"{s['file']}: {s['format']} {s['format_version']}, produced by {s['producer'] or 'unknown'}\n")
    opsets = ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in s["imports"]) or "-"
    w(f"  opsets:     {opsets}\n")
    w(f"  nodes:      {g['nodes']} in the main graph"
      f" (+{s['subgraphs']} subgraphs, {s['functions']} functions)\n")
    w(f"  parameters: {s['parameters']:,} ({_human(s['parameters'])}), "
      f"{_human(s['weight_bytes'])}B of weights\n")
    w(f"  inputs:     {', '.join(g['inputs']) or '-'}\n")
    w(f"  outputs:    {', '.join(g['outputs']) or '-'}\n")
    top = list(g["ops"].items())
    w("  ops:        " + ", ".join(f"{op} {n}" for op, n in top[:12])
      + (f", … {len(top) - 12} more" if len(top) > 12 else "") + "\n")
    for warning in s["warnings"]:
        w(f"  warning:    {warning}\n")


def tensor_command(model, args):
    t = tensor_stats.find_tensor(model, args.name)
    if args.npy:
        try:
            with open(args.npy, "wb") as f:
                note = tensor_stats.write_npy(model, t.index, f, max_bytes=1 << 62)
        except OSError as e:
            raise ModelError(f"cannot write {args.npy}: {e.strerror}", model.file) from None
        except ModelError:
            os.remove(args.npy)     # no half-written file left behind
            raise
        print(f"wrote {args.npy}: {t.dtype} {list(t.dims)}" + (f" ({note})" if note else ""),
              file=sys.stderr)
        if not args.stats:
            return
    if args.stats:
        result = tensor_stats.tensor_stats(model, t.index)
    else:
        result = model.tensor_values(t.index, args.limit)
    json.dump(result, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


def main(argv=None):
    p = argparse.ArgumentParser(prog="wetron", description="Inspect neural-network model files.")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="summary of a model")
    info.add_argument("model")
    info.add_argument("--json", action="store_true", help="one JSON object")
    graph = sub.add_parser("graph", help="the graph document the page uses (JSON)")
    graph.add_argument("model")
    graph.add_argument("--size", action="append", default=[], metavar="NAME=N",
                       help="value of a symbolic size (shapes and cost at it), e.g. --size batch=1")
    tensor = sub.add_parser("tensor", help="values of one weight tensor (JSON)")
    tensor.add_argument("model")
    tensor.add_argument("name")
    tensor.add_argument("--limit", type=int, default=100)
    tensor.add_argument("--stats", action="store_true",
                        help="statistics and histogram instead of values (JSON)")
    tensor.add_argument("--npy", metavar="OUT.npy", help="save the tensor as a numpy .npy file")
    cost.add_arguments(sub.add_parser("cost", help="parameters, FLOPs, MACs, activations"))
    args = p.parse_args(argv)
    try:
        model = open_model(args.model)
        if args.command == "info":
            s = summary(model)
            if args.json:
                json.dump(s, sys.stdout, ensure_ascii=False)
                sys.stdout.write("\n")
            else:
                print_summary(s, sys.stdout)
        elif args.command == "graph":
            sys.stdout.write(model.dumps(sizes=sizes.parse(args.size, model)) + "\n")
        elif args.command == "cost":
            cost.run(model, args, sys.stdout)
        else:
            tensor_command(model, args)
    except ModelError as e:
        print(f"wetron: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return 0
