"""Generate a FlatBuffers schema table for Wetron's readers from a format's own .fbs file.

    python tools/gen_fbs_schema.py tools/schemas/ort.fbs py/wetron/formats/ort_schema.py

Reads the FlatBuffers schema language (namespace, include, attribute, table, struct,
enum, union, root_type, file_identifier, file_extension; field defaults and attributes
such as (deprecated), (id: n), (key); vectors [T] and struct arrays [T:n]; // and /* */
comments) and writes a Python module of plain data, field ids numbered as flatc numbers
them: declaration order, a union field (or vector of unions) taking two ids, its
<name>_type then <name>; explicit (id: n) respected (then every field has one, and a
union's id is its value's, its _type's the one before); deprecated fields keep theirs.

  class <Table>:  <field> = id          (one class per table, deprecated fields left out,
                                         so a reader says t.table(Graph.nodes))
  TABLES     = {"Table": {field: (id, type)}}        every field, in id order
  DEPRECATED = {"Table": {field, ...}}
  DEFAULTS   = {"Table": {field: value}}             declared non-zero defaults
  STRUCTS    = {"Struct": {field: (byte offset, type)}}, STRUCT_SIZES {"Struct": bytes}
  ENUMS      = {"Enum": {NAME: value}}, ENUM_TYPES {"Enum": its scalar type}
  UNIONS     = {"Union": {NAME: value}}              NONE = 0 first
  ROOT_TYPE, FILE_IDENTIFIER, FILE_EXTENSION

A type is a scalar ("int", "long", "float", ... as py/wetron/flatbuffers.py names them;
int32 -> "int" and so on), "string", a declared name, "[T]" or "[T:n]"; a union's _type
field is "ubyte". Declared names are short ("Tensor"), qualified ("a.b.Tensor") only
where two namespaces declare the same name; included files' declarations are part of
the module. tests/test_fbs_schema.py checks the committed modules are what this writes.
"""
import keyword
import os
import re
import sys

SCALARS = {"bool": 1, "byte": 1, "ubyte": 1, "short": 2, "ushort": 2, "int": 4, "uint": 4,
           "float": 4, "long": 8, "ulong": 8, "double": 8}
ALIASES = {"int8": "byte", "uint8": "ubyte", "int16": "short", "uint16": "ushort",
           "int32": "int", "uint32": "uint", "int64": "long", "uint64": "ulong",
           "float32": "float", "float64": "double"}
_TOKEN = re.compile(r'\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|'
                    r'[A-Za-z_][\w.]*|[-+]?(?:[0-9]|\.[0-9])[\w.+-]*|[-+][A-Za-z]+|.', re.S)


def tokens(text):
    for m in _TOKEN.finditer(text):
        t = m.group()
        if not t.isspace() and not t.startswith(("//", "/*")):
            yield t


def scalar(name):
    name = ALIASES.get(name, name)
    return name if name in SCALARS else None


class Decl:
    """One table, struct, enum or union: kind, qualified name, its namespace, and
    fields [(name, type text, default token, attributes)] or members [(name, value
    token, type text)]; `underlying` an enum's scalar type, `attributes` its own."""

    def __init__(self, kind, name, namespace, attributes):
        self.kind, self.name, self.namespace, self.attributes = kind, name, namespace, attributes
        self.fields, self.underlying = [], None


class Schema:
    def __init__(self):
        self.decls = {}            # qualified name -> Decl, in declaration order
        self.root_type = self.file_identifier = self.file_extension = None
        self.files = []            # the files read, includes first


def parse(text, schema=None, load=None, name="<schema>"):
    """Parse one file's text into `schema` (a new Schema if None). `load(path)` returns
    an included file's (text, name); includes are read once, before the rest."""
    schema = schema or Schema()
    toks = list(tokens(text))
    pos = 0
    namespace = ""
    root = None

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        if pos >= len(toks):
            raise SyntaxError(f"{name}: unexpected end of file")
        pos += 1
        return toks[pos - 1]

    def expect(t):
        got = take()
        if got != t:
            raise SyntaxError(f"{name}: expected {t!r}, found {got!r} (token {pos - 1})")

    def identifier():
        t = take()
        if not re.fullmatch(r"[A-Za-z_][\w.]*", t):
            raise SyntaxError(f"{name}: expected a name, found {t!r} (token {pos - 1})")
        return t

    def string():
        t = take()
        if not t.startswith('"'):
            raise SyntaxError(f"{name}: expected a string, found {t!r}")
        return t[1:-1].encode().decode("unicode_escape")

    def metadata():
        attrs = {}
        if peek() != "(":
            return attrs
        take()
        while peek() != ")":
            key = identifier()
            value = None
            if peek() == ":":
                take()
                value = take()
                if value.startswith('"'):
                    value = value[1:-1]
            attrs[key] = value
            if peek() == ",":
                take()
        take()
        return attrs

    def field_type():
        if peek() == "[":
            take()
            inner = field_type()
            if peek() == ":":
                take()
                inner += ":" + take()
            expect("]")
            return f"[{inner}]"
        return identifier()

    def declare(decl):
        if decl.name in schema.decls:
            raise SyntaxError(f"{name}: {decl.name} declared twice")
        schema.decls[decl.name] = decl

    def qualify(n):
        return f"{namespace}.{n}" if namespace else n

    while pos < len(toks):
        t = take()
        if t == "include":
            path = string()
            expect(";")
            if load is None:
                raise SyntaxError(f"{name}: includes {path!r}, and no loader is given")
            inc_text, inc_name = load(path)
            if inc_name not in schema.files:
                schema.files.append(inc_name)
                # flatc reads an include's root_type / file_identifier as its own, not ours
                saved = schema.root_type, schema.file_identifier, schema.file_extension
                parse(inc_text, schema, load, inc_name)
                schema.root_type, schema.file_identifier, schema.file_extension = saved
        elif t == "native_include":
            string()
            expect(";")
        elif t == "namespace":
            namespace = "" if peek() == ";" else identifier()
            expect(";")
        elif t == "attribute":
            take()
            expect(";")
        elif t == "root_type":
            root = (identifier(), namespace)
            expect(";")
        elif t == "file_identifier":
            schema.file_identifier = string()
            if len(schema.file_identifier.encode()) != 4:
                raise SyntaxError(f"{name}: file_identifier must be 4 bytes")
            expect(";")
        elif t == "file_extension":
            schema.file_extension = string()
            expect(";")
        elif t in ("table", "struct"):
            decl = Decl(t, qualify(identifier()), namespace, metadata())
            expect("{")
            while peek() != "}":
                fname = identifier()
                expect(":")
                ftype = field_type()
                default = None
                if peek() == "=":
                    take()
                    default = take()
                attrs = metadata()
                expect(";")
                decl.fields.append((fname, ftype, default, attrs))
            take()
            declare(decl)
        elif t in ("enum", "union"):
            decl = Decl(t, qualify(identifier()), namespace, None)
            if t == "enum":
                expect(":")
                decl.underlying = identifier()
            decl.attributes = metadata()
            expect("{")
            while peek() != "}":
                member = identifier()
                mtype = member
                if t == "union" and peek() == ":":
                    take()
                    mtype = identifier()
                value = None
                if peek() == "=":
                    take()
                    value = take()
                metadata()
                # flatc names a union's member of another namespace a_b_Type
                decl.fields.append((member.replace(".", "_"), value, mtype))
                if peek() == ",":
                    take()
                elif peek() != "}":
                    raise SyntaxError(f"{name}: expected ',' or '}}' in {decl.name}, "
                                      f"found {peek()!r}")
            take()
            declare(decl)
        elif t == "rpc_service":       # services declare no data layout
            identifier()
            expect("{")
            while take() != "}":
                pass
        elif t == ";":
            pass
        else:
            raise SyntaxError(f"{name}: unsupported token {t!r} (token {pos - 1})")
    if root is not None:
        schema.root_type = root
    return schema


def resolve(schema, ref, namespace):
    """The qualified name a type reference means in `namespace` (flatc's lookup: the
    innermost enclosing namespace first)."""
    parts = namespace.split(".") if namespace else []
    for i in range(len(parts), -1, -1):
        candidate = ".".join(parts[:i] + [ref])
        if candidate in schema.decls:
            return candidate
    raise SyntaxError(f"unknown type {ref!r} in namespace {namespace or '(none)'}")


def _number(text):
    text = text.lstrip("+")
    if text.lower().lstrip("-") in ("nan", "inf", "infinity"):
        return float(text)
    try:
        return int(text, 0)
    except ValueError:
        return float(text)


def enum_values(decl):
    """{NAME: value}: values follow the previous one (a union's from NONE = 0; a
    bit_flags enum's are bit positions, their values 1 << position)."""
    out = {"NONE": 0} if decl.kind == "union" else {}
    value = 0 if decl.kind == "union" else -1
    bits = "bit_flags" in (decl.attributes or {})
    for member, given, _ in decl.fields:
        value = _number(given) if given is not None else value + 1
        out[member] = 1 << value if bits else value
    return out


class Names:
    """Output names: a declaration's short name unless another namespace has it too."""

    def __init__(self, schema):
        short = {}
        for q in schema.decls:
            short.setdefault(q.rpartition(".")[2], []).append(q)
        self.names = {q: (q if len(qs) > 1 else s) for s, qs in short.items() for q in qs}

    def __getitem__(self, qualified):
        return self.names[qualified]


def type_text(schema, names, ftype, namespace):
    """A field's type as the tables write it: scalar, "string", a name, "[T]"."""
    if ftype.startswith("["):
        inner, _, count = ftype[1:-1].partition(":")
        inner = type_text(schema, names, inner, namespace)
        return f"[{inner}:{count}]" if count else f"[{inner}]"
    if ftype == "string" or scalar(ftype):
        return scalar(ftype) or ftype
    return names[resolve(schema, ftype, namespace)]


def is_union(schema, ftype, namespace):
    base = ftype.strip("[]").partition(":")[0]
    if base == "string" or scalar(base):
        return False
    return schema.decls[resolve(schema, base, namespace)].kind == "union"


def table_fields(schema, names, decl):
    """[(field, id, type, deprecated, default)] in id order."""
    slots = []
    explicit = [f for f in decl.fields if "id" in f[3]]
    if explicit and len(explicit) != len(decl.fields):
        raise SyntaxError(f"{decl.name}: either every field has an id attribute or none")
    next_id = 0
    for fname, ftype, default, attrs in decl.fields:
        union = is_union(schema, ftype, decl.namespace)
        fid = int(attrs["id"]) if explicit else next_id + union
        next_id = fid + 1
        deprecated = "deprecated" in attrs
        if union:
            slots.append((fname + "_type", fid - 1, "[ubyte]" if ftype.startswith("[")
                          else "ubyte", deprecated, None))
        slots.append((fname, fid, type_text(schema, names, ftype, decl.namespace), deprecated,
                      default_value(schema, default, ftype, decl.namespace)))
    ids = sorted(s[1] for s in slots)
    if ids != list(range(len(ids))):
        raise SyntaxError(f"{decl.name}: field ids {ids} are not 0..{len(ids) - 1}, each once")
    return sorted(slots, key=lambda s: s[1])


def default_value(schema, text, ftype, namespace):
    """A declared default as a Python value (an enum's by its value), None if absent or
    zero (what a reader gets for an absent field anyway)."""
    if text is None or text == "null":
        return None
    if text.startswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        value = text == "true"
    elif re.fullmatch(r"[A-Za-z_]\w*", text) and text.lower() not in ("nan", "inf", "infinity"):
        decl = schema.decls[resolve(schema, ftype, namespace)]
        values = enum_values(decl)
        value = sum(values[v] for v in text.split()) if text in values else values[text]
    else:
        value = _number(text)
        if scalar(ftype) in ("float", "double"):
            value = float(value)
    return value or None


def struct_layout(schema, names, decl, layouts):
    """(size, alignment, {field: (offset, type)}) of a struct, as flatc lays it out:
    each field at its alignment, the struct padded to its largest (or force_align)."""
    if decl.name in layouts:
        return layouts[decl.name]
    offset, align, fields = 0, 1, {}
    for fname, ftype, _, attrs in decl.fields:
        inner, count = ftype, 1
        if ftype.startswith("["):
            inner, _, n = ftype[1:-1].partition(":")
            count = int(n)
        if scalar(inner):
            size = a = SCALARS[scalar(inner)]
        else:
            target = schema.decls[resolve(schema, inner, decl.namespace)]
            if target.kind == "enum":
                size = a = SCALARS[scalar(target.underlying)]
            elif target.kind == "struct":
                size, a, _ = struct_layout(schema, names, target, layouts)
            else:
                raise SyntaxError(f"struct {decl.name}: field {fname} is a {target.kind}")
        offset = (offset + a - 1) // a * a
        fields[fname] = (offset, type_text(schema, names, ftype, decl.namespace))
        offset += size * count
        align = max(align, a)
    align = max(align, int(decl.attributes.get("force_align") or 1))
    size = (offset + align - 1) // align * align
    layouts[decl.name] = (size, align, fields)
    return layouts[decl.name]


def read_file(path):
    """A Schema of the .fbs at `path`, its includes read relative to it."""
    root_dir = os.path.dirname(os.path.abspath(path))

    def load(include):
        full = os.path.join(root_dir, include)
        with open(full) as f:
            return f.read(), include
    with open(path) as f:
        text = f.read()
    schema = parse(text, load=load, name=os.path.basename(path))
    schema.files.append(os.path.basename(path))
    return schema


def attribute_name(name):
    return name + "_" if keyword.iskeyword(name) else name


def generate(schema, source):
    """The module's text for a parsed Schema; `source` names its file in the header."""
    names = Names(schema)
    tables, structs, enums, unions = [], [], [], []
    for q, d in schema.decls.items():
        {"table": tables, "struct": structs, "enum": enums, "union": unions}[d.kind].append(d)
    root = ""
    if schema.root_type:
        root = names[resolve(schema, *schema.root_type)]
    included = [f for f in schema.files if f != os.path.basename(source)]
    lines = [f'"""Generated by tools/gen_fbs_schema.py from {source}'
             + (f" (and {', '.join(included)})" if included else "") + ': do not edit."""',
             "# flake8: noqa", "",
             f"ROOT_TYPE = {root or None!r}",
             f"FILE_IDENTIFIER = {schema.file_identifier!r}",
             f"FILE_EXTENSION = {schema.file_extension!r}"]
    fields = {d.name: table_fields(schema, names, d) for d in tables}
    for d in tables:
        live = [(f, i) for f, i, _, deprecated, _ in fields[d.name] if not deprecated]
        lines += ["", "", f"class {names[d.name].replace('.', '_')}:"]
        lines += [f"    {attribute_name(f)} = {i}" for f, i in live] or ["    pass"]
    lines += ["", "", "TABLES = {"]
    for d in tables:
        lines.append(f"    {names[d.name]!r}: {{")
        lines += [f"        {f!r}: ({i}, {t!r})," for f, i, t, _, _ in fields[d.name]]
        lines.append("    },")
    lines += ["}", "", "DEPRECATED = {"]
    for d in tables:
        gone = [f for f, _, _, deprecated, _ in fields[d.name] if deprecated]
        if gone:
            lines.append(f"    {names[d.name]!r}: {set(gone)!r},")
    lines += ["}", "", "DEFAULTS = {"]
    for d in tables:
        given = {f: v for f, _, _, _, v in fields[d.name] if v is not None}
        if given:
            lines.append(f"    {names[d.name]!r}: {given!r},")
    layouts = {}
    lines += ["}", "", "STRUCTS = {"]
    for d in structs:
        lines.append(f"    {names[d.name]!r}: {struct_layout(schema, names, d, layouts)[2]!r},")
    lines += ["}", "", "STRUCT_SIZES = {"]
    lines += [f"    {names[d.name]!r}: {layouts[d.name][0]}," for d in structs]
    lines += ["}", "", "ENUMS = {"]
    lines += [f"    {names[d.name]!r}: {enum_values(d)!r}," for d in enums]
    lines += ["}", "", "ENUM_TYPES = {"]
    for d in enums:
        if not scalar(d.underlying):
            raise SyntaxError(f"enum {d.name}: {d.underlying!r} is not a scalar type")
        lines.append(f"    {names[d.name]!r}: {scalar(d.underlying)!r},")
    lines += ["}", "", "UNIONS = {"]
    for d in unions:
        for _, _, member_type in d.fields:
            if schema.decls[resolve(schema, member_type, d.namespace)].kind != "table":
                raise SyntaxError(f"union {d.name}: {member_type} is not a table")
        lines.append(f"    {names[d.name]!r}: {enum_values(d)!r},")
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv):
    fbs, out = argv
    text = generate(read_file(fbs), fbs)
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
