"""tools/gen_fbs_schema.py: the committed FlatBuffers tables are what it writes from
tools/schemas/*.fbs; its numbering on the cases flatc has rules for (unions' two ids,
explicit ids, deprecated fields, namespaces, struct layout); and the generated ids
against the Python classes flatc generated for the frameworks themselves (onnxruntime's
ort_flatbuffers_py, ExecuTorch's exir/_serialize/generated)."""
import glob
import os
import re
import sys

import pytest

import formats_executorch_models
from wetron.formats import executorch_schema, ort_schema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_fbs_schema  # noqa: E402

# the generated module of each .fbs that is a module's root (includes are part of it)
MODULES = {"ort.fbs": ort_schema, "program.fbs": executorch_schema}
_FLAGS = {"Bool": "bool", "Int8": "byte", "Uint8": "ubyte", "Int16": "short",
          "Uint16": "ushort", "Int32": "int", "Uint32": "uint", "Int64": "long",
          "Uint64": "ulong", "Float32": "float", "Float64": "double"}


@pytest.mark.parametrize("fbs", sorted(MODULES))
def test_committed_modules_are_what_the_generator_writes(fbs):
    path = os.path.join(ROOT, "tools", "schemas", fbs)
    text = gen_fbs_schema.generate(gen_fbs_schema.read_file(path), f"tools/schemas/{fbs}")
    with open(MODULES[fbs].__file__) as f:
        assert f.read() == text, "run tools/gen_fbs_schema.py (see its docstring)"


def test_every_schema_file_is_used():
    roots = set(MODULES)
    for fbs in roots.copy():
        roots.update(gen_fbs_schema.read_file(os.path.join(ROOT, "tools", "schemas", fbs)).files)
    assert {os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "tools/schemas/*.fbs"))} \
        == roots


TRICKY = """
// a line comment; /// doc comments too
/* a block comment: table Fake { x:int; } */
include "common.fbs";
attribute "priority";
namespace outer.inner;

enum Color : ubyte { Red = 1, Green, Blue = 8, }
enum Flags : uint (bit_flags) { A, B, C = 4 }
union Payload { Leaf, other.Leaf, named: Branch = 5 }

struct Vec3 (force_align: 16) { x:float; y:float; z:float; }
struct Pair { a:byte; v:Vec3; b:long; arr:[short:3]; }

table Leaf { value:int32 = -7; label:string; }
table Branch { kids:[Leaf]; }
table Node {
  name:string (key);
  color:Color = Green;
  old_thing:[int] (deprecated);
  payload:Payload;
  many:[Payload];
  ratio:float64 = 0.5;
  pos:Vec3;
  shared:Common;
  flag:bool = true;
  spec:other.Leaf;
}
table Explicit {
  late:int (id: 3);
  choice:Payload (id: 1);
  early:string (id: 2, deprecated);
}
namespace other;
table Leaf { size:ulong; }
root_type outer.inner.Node;
file_identifier "TRCK";
"""
COMMON = """
namespace outer;
table Common { n:int; }
root_type Common;
file_identifier "NOPE";
"""


def _tricky():
    files = {"common.fbs": COMMON}
    schema = gen_fbs_schema.parse(TRICKY, load=lambda p: (files[p], p), name="tricky.fbs")
    namespace = {}
    exec(gen_fbs_schema.generate(schema, "tricky.fbs"), namespace)   # our own output
    return namespace


def test_union_fields_take_two_ids_and_deprecated_fields_keep_theirs():
    out = _tricky()
    node = out["TABLES"]["Node"]
    assert list(node.items()) == [
        ("name", (0, "string")), ("color", (1, "Color")), ("old_thing", (2, "[int]")),
        ("payload_type", (3, "ubyte")), ("payload", (4, "Payload")),
        ("many_type", (5, "[ubyte]")), ("many", (6, "[Payload]")),
        ("ratio", (7, "double")), ("pos", (8, "Vec3")), ("shared", (9, "Common")),
        ("flag", (10, "bool")), ("spec", (11, "other.Leaf"))]
    assert out["DEPRECATED"] == {"Node": {"old_thing"}, "Explicit": {"early"}}
    cls = out["Node"]
    assert (cls.payload_type, cls.payload, cls.many, cls.spec) == (3, 4, 6, 11)
    assert not hasattr(cls, "old_thing")


def test_explicit_ids_are_respected():
    out = _tricky()
    assert list(out["TABLES"]["Explicit"].items()) == [
        ("choice_type", (0, "ubyte")), ("choice", (1, "Payload")),
        ("early", (2, "string")), ("late", (3, "int"))]
    with pytest.raises(SyntaxError, match="either every field"):
        gen_fbs_schema.generate(gen_fbs_schema.parse("table T { a:int (id: 1); b:int; }"),
                                "t.fbs")
    with pytest.raises(SyntaxError, match="not 0..1"):
        gen_fbs_schema.generate(gen_fbs_schema.parse("table T { a:int (id: 0); b:int (id: 2); }"),
                                "t.fbs")


def test_namespaces_enums_defaults_and_structs():
    out = _tricky()
    # two namespaces declare Leaf: both go by their qualified names; the root type is
    # this file's, not the include's
    assert {"outer.inner.Leaf", "other.Leaf", "Branch", "Common"} <= set(out["TABLES"])
    assert out["ROOT_TYPE"] == "Node" and out["FILE_IDENTIFIER"] == "TRCK"
    assert out["outer_inner_Leaf"].label == 1 and out["other_Leaf"].size == 0
    assert out["ENUMS"] == {"Color": {"Red": 1, "Green": 2, "Blue": 8},
                            "Flags": {"A": 1, "B": 2, "C": 16}}
    assert out["ENUM_TYPES"] == {"Color": "ubyte", "Flags": "uint"}
    assert out["UNIONS"] == {"Payload": {"NONE": 0, "Leaf": 1, "other_Leaf": 2, "named": 5}}
    assert out["DEFAULTS"] == {"outer.inner.Leaf": {"value": -7},
                               "Node": {"color": 2, "ratio": 0.5, "flag": True}}
    assert out["STRUCTS"]["Vec3"] == {"x": (0, "float"), "y": (4, "float"), "z": (8, "float")}
    assert out["STRUCTS"]["Pair"] == {"a": (0, "byte"), "v": (16, "Vec3"), "b": (32, "long"),
                                      "arr": (40, "[short:3]")}
    assert out["STRUCT_SIZES"] == {"Vec3": 16, "Pair": 48}


def test_unknown_types_and_syntax_are_errors():
    with pytest.raises(SyntaxError, match="unknown type 'Missing'"):
        gen_fbs_schema.generate(gen_fbs_schema.parse("table T { a:Missing; }"), "t.fbs")
    with pytest.raises(SyntaxError, match="unsupported token"):
        gen_fbs_schema.parse("message T { }")
    with pytest.raises(SyntaxError, match="no loader"):
        gen_fbs_schema.parse('include "x.fbs";')


# --- against flatc's own Python output ------------------------------------------------------

def _camel(name):
    return "".join(p[:1].upper() + p[1:] for p in name.split("_"))


def _generated(folder):
    """{class: ("table", {vtable offset: (method, scalar flag)}, slots) | ("struct",
    {offset: method}, size) | ("enum", {NAME: value})} from flatc's Python files."""
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.py"))):
        name = os.path.basename(path)[:-3]
        src = open(path).read()
        if name == "__init__" or f"class {name}(object):" not in src:
            continue
        if "StartObject(" in src:
            fields = {}
            for method, offset, rest in re.findall(
                    r"    def (\w+)\(self[^)]*\)(?: -> [^:]+)?:\n        o = flatbuffers\.number_types\."
                    r"UOffsetTFlags\.py_type\(self\._tab\.Offset\((\d+)\)\)\n((?:        .*\n)+)",
                    src):
                flag = re.search(r"number_types\.(\w+)Flags, o \+ self\._tab\.Pos", rest)
                fields.setdefault(int(offset), (method, flag and _FLAGS[flag.group(1)]))
            slots = int(re.search(r"StartObject\((\d+)\)", src).group(1))
            out[name] = ("table", fields, slots)
        elif "def SizeOf(cls)" in src:
            fields = {int(o): m for m, o in re.findall(
                r"def (\w+)\(self\)(?: -> [^:]+)?: return self\._tab\.Get\(flatbuffers\.number_types\.\w+Flags,"
                r" self\._tab\.Pos \+ flatbuffers\.number_types\.UOffsetTFlags\.py_type\((\d+)\)\)",
                src)}
            out[name] = ("struct", fields, int(re.search(r"return (\d+)", src).group(1)))
        else:
            out[name] = ("enum", {k: int(v) for k, v in
                                  re.findall(r"^    (\w+) = (-?\d+)$", src, re.M)})
    return out


def _check_against_generated(module, folder):
    generated = _generated(folder)
    ours = set(module.TABLES) | set(module.STRUCTS) | set(module.ENUMS) | set(module.UNIONS)
    assert ours <= set(generated)      # onnxruntime's folder also holds its checkpoint schema
    for table, fields in module.TABLES.items():
        kind, theirs, slots = generated[table]
        assert kind == "table" and slots == len(fields), table
        live = {f: v for f, v in fields.items() if f not in module.DEPRECATED.get(table, ())}
        assert {4 + 2 * i: _camel(f) for f, (i, _) in live.items()} == \
            {o: m for o, (m, _) in theirs.items()}, table
        for f, (i, ftype) in live.items():
            scalar = module.ENUM_TYPES.get(ftype, ftype)
            if scalar in gen_fbs_schema.SCALARS:
                assert theirs[4 + 2 * i][1] == scalar, (table, f)
    for struct, fields in module.STRUCTS.items():
        kind, theirs, size = generated[struct]
        assert kind == "struct" and size == module.STRUCT_SIZES[struct]
        assert {o: _camel(f) for f, (o, _) in fields.items()} == theirs, struct
    for enum, values in {**module.ENUMS, **module.UNIONS}.items():
        assert generated[enum] == ("enum", values), enum


def test_ort_ids_match_onnxruntimes_generated_classes():
    pytest.importorskip("onnxruntime")
    from onnxruntime.tools.ort_format_model import ort_flatbuffers_py
    folder = os.path.join(os.path.dirname(ort_flatbuffers_py.__file__), "fbs")
    _check_against_generated(ort_schema, folder)


def test_executorch_ids_match_executorchs_generated_classes():
    paths = formats_executorch_models.schema_files()
    folder = os.path.join(os.path.dirname(paths["program.fbs"]), "generated",
                          "executorch_flatbuffer")
    _check_against_generated(executorch_schema, folder)
