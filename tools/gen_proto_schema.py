"""Generate a protobuf schema table for Wetron's readers from a format's own .proto file.

    python tools/gen_proto_schema.py tools/schemas/caffe.proto py/wetron/formats/caffe_schema.py

Reads the proto2 subset such schema files use (messages and enums, nested; optional,
repeated and required fields with [default = ...] and [packed = true]; `reserved`
statements and empty ones skipped) and writes a
Python module of plain data, which the format module reads both a binary file
(field numbers) and a text-format file (field names) by:

  MESSAGES = {"Message.Name": {number: (field name, kind, repeated, packed, default)}}
  ENUMS    = {"Message.Enum": {value: "NAME"}}

kind: a scalar type ("int32", "float", "string", "bool", ...), or ("enum", name), or
("message", name), names resolved by the .proto's scoping rules. default: the field's
[default = ...] as a Python value (an enum default by its name), else None.
tests/test_format_caffe.py checks the committed module is what this writes.
"""
import re
import sys

SCALARS = {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
           "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"}
_TOKEN = re.compile(r'\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|'
                    r'[A-Za-z_][\w.]*|-?(?:[0-9]|\.[0-9])[\w.+-]*|.', re.S)


def tokens(text):
    for m in _TOKEN.finditer(text):
        t = m.group()
        if not t.isspace() and not t.startswith(("//", "/*")):
            yield t


def parse(text):
    """(messages, enums): {scope name: [(label, type, name, number, options)]},
    {scope name: {value: NAME}}."""
    toks = list(tokens(text))
    messages, enums = {}, {}
    pos = 0

    def expect(t):
        nonlocal pos
        if toks[pos] != t:
            raise SyntaxError(f"expected {t!r}, found {toks[pos]!r} (token {pos})")
        pos += 1

    def body(scope):
        nonlocal pos
        while toks[pos] != "}":
            t = toks[pos]
            if t == "message":
                name = scope + toks[pos + 1]
                pos += 2
                expect("{")
                messages[name] = []
                body(name + ".")
                expect("}")
            elif t == "enum":
                name = scope + toks[pos + 1]
                pos += 2
                expect("{")
                values = enums[name] = {}
                while toks[pos] != "}":
                    key = toks[pos]
                    expect_at = pos + 1
                    pos = expect_at
                    expect("=")
                    values[int(toks[pos])] = key
                    pos += 1
                    expect(";")
                expect("}")
            elif t in ("optional", "repeated", "required"):
                label, ftype, fname = t, toks[pos + 1], toks[pos + 2]
                pos += 3
                expect("=")
                number = int(toks[pos])
                pos += 1
                options = {}
                if toks[pos] == "[":
                    pos += 1
                    while toks[pos] != "]":
                        key = toks[pos]
                        pos += 1
                        expect("=")
                        options[key] = toks[pos]
                        pos += 1
                        if toks[pos] == ",":
                            pos += 1
                    pos += 1
                expect(";")
                messages[scope.rstrip(".")].append((label, ftype, fname, number, options))
            elif t == "reserved":        # field numbers and names no longer used
                while toks[pos] != ";":
                    pos += 1
                pos += 1
            elif t == ";":               # an empty statement ("};" after a message)
                pos += 1
            else:
                raise SyntaxError(f"unsupported token {t!r} in {scope or 'the file'}")

    while pos < len(toks):
        t = toks[pos]
        if t in ("syntax", "package", "option", "import"):
            while toks[pos] != ";":
                pos += 1
            pos += 1
        elif t in ("message", "enum"):
            toks.append("}")          # body() stops at a "}": give the file one
            end = len(toks) - 1
            body("")
            if pos != end:
                raise SyntaxError(f"unbalanced braces (token {pos})")
            break
        else:
            raise SyntaxError(f"unsupported token {t!r} at the top level")
    return messages, enums


def resolve(ftype, scope, messages, enums):
    """A field type as the table kind: scalar, ("enum", name) or ("message", name)."""
    if ftype in SCALARS:
        return ftype
    parts = scope.split(".")
    for i in range(len(parts), -1, -1):
        name = ".".join(parts[:i] + [ftype])
        if name in messages:
            return ("message", name)
        if name in enums:
            return ("enum", name)
    raise SyntaxError(f"unknown type {ftype!r} in {scope}")


def default_value(text, kind):
    if text is None:
        return None
    if text.startswith(("'", '"')):
        return text[1:-1].encode().decode("unicode_escape")
    if kind == "bool":
        return text == "true"
    if isinstance(kind, tuple):
        return text          # an enum value by its name
    if kind in ("float", "double"):
        return float(text)
    return int(text)


def generate(proto_text, source):
    messages, enums = parse(proto_text)
    lines = [f'"""Generated by tools/gen_proto_schema.py from {source}: do not edit."""',
             "# flake8: noqa", "", "MESSAGES = {"]
    for name, fields in messages.items():
        lines.append(f"    {name!r}: {{")
        for label, ftype, fname, number, options in fields:
            kind = resolve(ftype, name, messages, enums)
            packed = options.get("packed") == "true"
            default = default_value(options.get("default"), kind)
            lines.append(f"        {number}: ({fname!r}, {kind!r}, {label == 'repeated'}, "
                         f"{packed}, {default!r}),")
        lines.append("    },")
    lines += ["}", "", "ENUMS = {"]
    for name, values in enums.items():
        lines.append(f"    {name!r}: {values!r},")
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv):
    proto, out = argv
    with open(proto) as f:
        text = generate(f.read(), proto)
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
