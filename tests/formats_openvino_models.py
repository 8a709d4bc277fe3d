"""OpenVINO IR test files, written by OpenVINO itself (openvino.convert_model +
openvino.save_model) from the real torch exports of tests/models.py, in a venv of its
own (tests/framework_venvs.py), cached under tests/.cache/openvino-<version>/.

Beside each model.xml/.bin the child writes model.oracle.json: what OpenVINO reports of
the model it wrote (every op's type, name, output shapes and element types; each Const's
element count), read back with openvino.Core().read_model.
    python tests/formats_openvino_models.py child OUT_DIR NAME=ONNX_PATH=SHAPES_JSON ...
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = "2026.4.1"
PINS = [f"openvino=={VERSION}"]
GENERATION = "1"
# The static sizes the IRs are written at (the ONNX exports' symbolic dims, bound).
SIZES = {"batch": 2, "sequence": 16}


def ir_models():
    """{name: path of the .xml} for the torch CNN and transformer exports."""
    import pytest
    import framework_venvs
    import models
    folder = os.path.join(HERE, ".cache", f"openvino-{VERSION}-{GENERATION}")
    marker = os.path.join(folder, "complete.json")
    sources = {"cnn": models.torch_cnn(), "transformer": models.torch_transformer()}
    if not os.path.exists(marker):
        try:
            python = framework_venvs.venv_python(f"openvino-{VERSION}", PINS)
        except framework_venvs.VenvUnavailable as e:
            pytest.skip(f"OpenVINO cannot be installed here: {e}")
        import wetron
        args = []
        for name, path in sources.items():
            g = wetron.open(path).graphs[0]
            shapes = {i: [SIZES[d] if isinstance(d, str) else d for d in g.types[i][2]]
                      for i in g.inputs}
            args.append(f"{name}={path}={json.dumps(shapes)}")
        tmp = folder + ".tmp"
        os.makedirs(tmp, exist_ok=True)
        framework_venvs.run_child(python, os.path.abspath(__file__), ["child", tmp, *args])
        with open(os.path.join(tmp, "complete.json"), "w") as f:
            json.dump({"sources": sources, "sizes": SIZES}, f)
        if os.path.exists(folder):   # (written meanwhile by another run)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    return {name: os.path.join(folder, f"{name}.xml") for name in sources}, sources


def _child(out, specs):
    import math
    import openvino as ov
    for spec in specs:
        name, path, shapes = spec.split("=", 2)
        model = ov.convert_model(path)
        model.reshape({k: v for k, v in json.loads(shapes).items()})
        xml = os.path.join(out, f"{name}.xml")
        ov.save_model(model, xml, compress_to_fp16=False)
        back = ov.Core().read_model(xml)
        ops = []
        for op in back.get_ordered_ops():
            entry = {"type": op.get_type_name(), "name": op.get_friendly_name(),
                     "outputs": [{"shape": [d.get_length() if d.is_static else None
                                            for d in o.get_partial_shape()],
                                  "dtype": o.get_element_type().get_type_name()}
                                 for o in op.outputs()]}
            if op.get_type_name() == "Constant":
                entry["elements"] = math.prod(op.get_output_shape(0))
            ops.append(entry)
        with open(os.path.join(out, f"{name}.oracle.json"), "w") as f:
            json.dump({"ops": ops, "version": ov.__version__}, f)


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    _child(sys.argv[2], sys.argv[3:])
