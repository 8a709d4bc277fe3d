"""Real ExecuTorch programs (.pte) for the tests, written by ExecuTorch 1.5.1 itself
(torch.export.export, then executorch.exir.to_edge(...).to_executorch()):

  cnn.pte        a CNN of our own: Conv2d + BatchNorm (with statistics that are not the
                 identity; ExecuTorch keeps it as _native_batch_norm_legit_no_training), ReLU, MaxPool2d, a grouped conv, ConvTranspose2d, adaptive average pool,
                 flatten, Linear; input [1, 3, 32, 32]
  mlp.pte        Linear-ReLU-Linear-LogSoftmax, input [4, 20], exported with
                 emit_stacktrace=True (each instruction carries its Python frames)
  block.pte      a transformer block of our own: LayerNorm, q/k/v Linear, attention by
                 explicit matmuls (bmm) and softmax, output projection, GELU MLP,
                 residuals; input [2, 16, 32]
  cnn_xnnpack.pte  the CNN lowered to XNNPACK (to_edge_transform_and_lower with
                 XnnpackPartitioner): delegate calls with their processed blobs
  cnn_inline.pte the CNN's program with its constants inline in Program.constant_buffer
                 (as programs were before constant segments, 2024): ExecuTorch's own
                 reading of cnn.pte written back by its flatbuffer writer
                 (_program_to_flatbuffer), no extended header, no segments. The
                 1.5.1 runtime does not load it (InvalidProgram, 0x23): its method
                 meta is that error, ExecuTorch's Python reader the oracle
  mutable.pte    a module with a registered buffer it updates in place (a running
                 counter): aten::copy_ writes back a planned tensor the method read first

Oracles from ExecuTorch: its own reading of the file
(executorch.exir._serialize._program.deserialize_pte_binary: per execution plan the
operators, every value's kind and a tensor's scalar_type/sizes/dim_order/
data_buffer_idx, inputs/outputs, each instruction's kind and arguments, delegates' ids
and processed sizes; the first values of every constant), the runtime's method meta
(executorch.runtime Runtime.load_program(...).metadata(method): input/output sizes and
dtypes), and torch's FlopCounterMode on the eager model (FLOPs of aten.convolution/
addmm/mm/bmm, 2 per multiply-add).

ExecuTorch brings its own torch pin and numpy 2, so it has a venv of its own
(tests/framework_venvs.py, VENV_PINS). Cached in tests/.cache/executorch-GENERATION-
<version>/ with complete.json the index.
"""
import json
import os
import sys

import framework_venvs

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_NAME = "executorch"
VENV_PINS = ["executorch==1.5.1", "torch==2.13.0"]
GENERATION = "2"


def executorch_index():
    """(folder, index), written on first use (VenvUnavailable if ExecuTorch cannot be had)."""
    python = framework_venvs.venv_python(VENV_NAME, VENV_PINS)
    v = framework_venvs.venv_info(VENV_NAME, VENV_PINS)["versions"]

    return framework_venvs.child_set(python, os.path.abspath(__file__),
                                     f"executorch-{GENERATION}-executorch-{v['executorch']}")


def executorch_files():
    """name -> {"path", "oracle"}."""
    folder, index = executorch_index()
    return {name: dict(e, path=os.path.join(folder, e["file"]))
            for name, e in index["models"].items()}


def schema_files():
    """The schema files the installed ExecuTorch ships: {"program.fbs": path, ...}."""
    python = framework_venvs.venv_python(VENV_NAME, VENV_PINS)
    out = framework_venvs.run_child(python, os.path.abspath(__file__), ["schema"])
    return json.loads(out.strip().splitlines()[-1])


# --- the child (runs in the venv) ----------------------------------------------------------

def _models(torch):
    nn = torch.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.pool = nn.MaxPool2d(2)
            self.grouped = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=4)
            self.up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn(self.conv(x))))
            x = self.up(torch.relu(self.grouped(x)))
            return self.fc(torch.flatten(self.gap(x), 1))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(20, 64)
            self.b = nn.Linear(64, 5)

        def forward(self, x):
            return torch.log_softmax(self.b(torch.relu(self.a(x))), dim=-1)

    class Block(nn.Module):
        def __init__(self, d=32, hidden=64):
            super().__init__()
            self.norm1 = nn.LayerNorm(d)
            self.q = nn.Linear(d, d)
            self.k = nn.Linear(d, d)
            self.v = nn.Linear(d, d)
            self.proj = nn.Linear(d, d)
            self.norm2 = nn.LayerNorm(d)
            self.up = nn.Linear(d, hidden)
            self.down = nn.Linear(hidden, d)
            self.scale = d ** -0.5

        def forward(self, x):
            h = self.norm1(x)
            q, k, v = self.q(h), self.k(h), self.v(h)
            attn = torch.softmax(torch.matmul(q, k.transpose(1, 2)) * self.scale, dim=-1)
            x = x + self.proj(torch.matmul(attn, v))
            return x + self.down(torch.nn.functional.gelu(self.up(self.norm2(x))))

    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("count", torch.arange(4, dtype=torch.float32))
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            self.count.add_(1.0)
            return self.fc(x) + self.count

    return {"cnn": (CNN(), (1, 3, 32, 32)), "mlp": (MLP(), (4, 20)),
            "block": (Block(), (2, 16, 32)), "mutable": (Counter(), (1, 4))}


def _oracle_program(data, np):
    from executorch.exir._serialize._program import deserialize_pte_binary
    program = deserialize_pte_binary(data).program
    plans = []
    for plan in program.execution_plan:
        values = []
        for v in plan.values:
            kind = type(v.val).__name__
            d = {"kind": kind}
            if kind == "Tensor":
                t = v.val
                d.update(scalar_type=int(t.scalar_type), sizes=list(t.sizes),
                         dim_order=list(t.dim_order), data_buffer_idx=t.data_buffer_idx,
                         allocated=t.allocation_info is not None)
            elif kind in ("Int", "Bool", "Double"):
                d["value"] = getattr(v.val, kind.lower() + "_val")
            elif kind in ("IntList", "TensorList", "OptionalTensorList", "BoolList",
                          "DoubleList"):
                d["items"] = list(v.val.items)
            values.append(d)
        instructions = []
        for chain in plan.chains:
            for ins in chain.instructions:
                a = ins.instr_args
                kind = type(a).__name__
                d = {"kind": kind}
                if kind == "KernelCall":
                    d.update(op_index=a.op_index, args=list(a.args))
                elif kind == "DelegateCall":
                    d.update(delegate_index=a.delegate_index, args=list(a.args))
                instructions.append(d)
        delegates = []
        for dl in plan.delegates:
            blob = program.backend_delegate_data[dl.processed.index].data
            delegates.append({"id": dl.id, "size": len(blob),
                              "compile_specs": [c.key for c in dl.compile_specs]})
        plans.append({
            "name": plan.name, "inputs": list(plan.inputs), "outputs": list(plan.outputs),
            "operators": [[o.name, o.overload] for o in plan.operators],
            "values": values, "instructions": instructions, "delegates": delegates,
            "stacktraces": sum(len(c.stacktrace or []) for c in plan.chains),
        })
    # deserialize_pte_binary moves the segments back into constant_buffer and
    # mutable_data: the constants' bytes as ExecuTorch reads them
    dtypes = {6: np.float32, 4: np.int64, 3: np.int32, 7: np.float64, 11: np.bool_}
    constants = {}
    for plan in plans:
        for v in plan["values"]:
            if v["kind"] == "Tensor" and v["data_buffer_idx"] and not v["allocated"]:
                storage = program.constant_buffer[v["data_buffer_idx"]].storage
                head = np.frombuffer(bytes(storage), dtype=dtypes[v["scalar_type"]])[:4]
                constants[str(v["data_buffer_idx"])] = [float(x) for x in head]
    return {"plans": plans, "constants": constants,
            "named_data": [[n.key, n.segment_index] for n in program.named_data or []]}


def _method_meta(path):
    """{method: {inputs, outputs}}, or {"error": ...} when the runtime refuses the file."""
    from executorch.runtime import Runtime
    try:
        program = Runtime.get().load_program(path)
    except RuntimeError as e:
        return {"error": str(e)}
    out = {}
    for name in program.method_names:
        meta = program.metadata(name)
        out[name] = {
            "inputs": [{"sizes": list(meta.input_tensor_meta(i).sizes()),
                        "dtype": str(meta.input_tensor_meta(i).dtype())}
                       for i in range(meta.num_inputs())],
            "outputs": [{"sizes": list(meta.output_tensor_meta(i).sizes()),
                         "dtype": str(meta.output_tensor_meta(i).dtype())}
                        for i in range(meta.num_outputs())]}
    return out


def _flops(torch, model, example):
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(*example)
    return {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}


def _child(folder):
    import numpy as np
    import torch
    from executorch.version import __version__ as executorch_version
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import ExecutorchBackendConfig, to_edge, to_edge_transform_and_lower
    from executorch.exir._serialize._flatbuffer_program import _program_to_flatbuffer
    from executorch.exir._serialize._program import deserialize_pte_binary
    torch.manual_seed(13)
    index = {"executorch": executorch_version, "torch": torch.__version__,
             "models": {}}

    def write(name, data, model, example):
        path = os.path.join(folder, name + ".pte")
        with open(path, "wb") as f:
            f.write(data)
        index["models"][name] = {
            "file": name + ".pte", "input_shape": list(example[0].shape),
            "oracle": {"program": _oracle_program(data, np),
                       "method_meta": _method_meta(path),
                       "flops": _flops(torch, model, example),
                       "state_numel": sum(t.numel() for t in model.state_dict().values())}}

    for name, (model, shape) in _models(torch).items():
        model.eval()
        if name == "cnn":   # BatchNorm statistics that are not the identity
            with torch.no_grad():
                model.bn.running_mean.uniform_(-0.5, 0.5)
                model.bn.running_var.uniform_(0.5, 1.5)
        example = (torch.randn(*shape),)
        config = ExecutorchBackendConfig(emit_stacktrace=name == "mlp")
        program = to_edge(torch.export.export(model, example)).to_executorch(config)
        write(name, program.buffer, model, example)
        if name == "cnn":
            lowered = to_edge_transform_and_lower(torch.export.export(model, example),
                                                  partitioner=[XnnpackPartitioner()])
            write("cnn_xnnpack", lowered.to_executorch().buffer, model, example)
            inline = deserialize_pte_binary(program.buffer).program
            write("cnn_inline", bytes(_program_to_flatbuffer(inline).data), model, example)
    with open(os.path.join(folder, "_index.json"), "w") as f:
        json.dump(index, f, indent=1)


def _schema():
    import executorch.exir._serialize as serialize
    here = os.path.dirname(serialize.__file__)
    print(json.dumps({n: os.path.join(here, n) for n in ("program.fbs", "scalar_type.fbs")}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2])
        sys.exit(0)
    if sys.argv[1:2] == ["schema"]:
        _schema()
        sys.exit(0)
    sys.path.insert(0, HERE)
    print(json.dumps({k: v["path"] for k, v in executorch_files().items()}, indent=1))
