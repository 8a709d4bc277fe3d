"""Protobuf messages read by a schema table (tools/gen_proto_schema.py writes one from a
format's own .proto): binary messages through protobuf.Reader, and the protobuf text
format (.prototxt) through a bounded parser of its own, both into the same form.

A message is a dict: field name -> list of values (one per occurrence; a non-repeated
field's value is the last). Scalars are Python ints/floats/bools/strs, enums their value
names (an unknown number stays an int), `bytes` fields a Bytes (its length only), and
sub-messages dicts. Fields named in `spans` (big repeated numbers: weights) are not
decoded: a packed binary field becomes a Span (where its bytes are, for a decoder to read
on request); unpacked or text values stay a list of numbers.

Text fields the schema does not name (a fork's extra parameters) are kept, untyped, and
listed in `unknown`; binary fields it does not name are skipped (their names are not in
the file). Everything is bounded: nesting depth, repeated items, the text's size and
tokens, messages in all.
"""
import re
import struct

from .protobuf import signed32, signed64, varint

MAX_DEPTH = 32            # nested messages
MAX_ITEMS = 1 << 20       # values of one repeated scalar field that is decoded
MAX_MESSAGES = 4_000_000  # messages in one read
MAX_TEXT_BYTES = 64 << 20
MAX_TOKENS = 16_000_000
MAX_DIGITS = 20           # an integer in text: 2**64 has 20 digits

_INTS = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64",
         "sfixed32", "sfixed64"}
_WIRE = {"double": 1, "fixed64": 1, "sfixed64": 1, "float": 5, "fixed32": 5, "sfixed32": 5}


class Span:
    """A packed repeated number field left in the file: `count` values of `kind` at
    `offset` (`length` bytes)."""
    __slots__ = ("offset", "length", "kind")

    def __init__(self, offset, length, kind):
        self.offset, self.length, self.kind = offset, length, kind

    @property
    def count(self):
        size = {"float": 4, "double": 8}.get(self.kind)
        return self.length // size if size else None


class Bytes:
    __slots__ = ("length",)

    def __init__(self, length):
        self.length = length

    def __repr__(self):
        return f"{self.length} bytes"


def last(msg, name, default=None):
    """A non-repeated field's value (its last occurrence), or default."""
    v = msg.get(name)
    return v[-1] if v else default


def _float32(raw):
    """A float32 as the shortest decimal that is that float32 (0.1, not 0.100000001)."""
    v = struct.unpack("<f", raw)[0]
    for digits in range(6, 10):
        short = float(f"{v:.{digits}g}")
        if struct.pack("<f", short) == raw:
            return short
    return v


# --- binary -----------------------------------------------------------------------------
class BinaryDecoder:
    def __init__(self, reader, schema, spans=()):
        self.r = reader
        self.messages, self.enums = schema.MESSAGES, schema.ENUMS
        self.spans = set(spans)
        self.count = 0

    def message(self, type_name, start, length, depth=0):
        if depth > MAX_DEPTH:
            raise self.r.error(f"messages nested deeper than {MAX_DEPTH}", start)
        self.count += 1
        if self.count > MAX_MESSAGES:
            raise self.r.error(f"more than {MAX_MESSAGES:,} messages, the most Wetron reads",
                               start)
        fields = self.messages[type_name]
        out = {}
        r = self.r
        for number, wire, a, b in r.fields(start, start + length):
            spec = fields.get(number)
            if spec is None:
                continue
            name, kind, repeated, _, _ = spec
            values = out.setdefault(name, [])
            if type(kind) is tuple and kind[0] == "message":
                if wire != 2:
                    raise r.error(f"{type_name}.{name}: a message field with wire type {wire}",
                                  a if wire == 2 else None)
                values.append(self.message(kind[1], a, b, depth + 1))
            elif kind == "string":
                if wire != 2:
                    raise r.error(f"{type_name}.{name}: a string field with wire type {wire}")
                values.append(r.string(a, b))
            elif kind == "bytes":
                if wire != 2:
                    raise r.error(f"{type_name}.{name}: a bytes field with wire type {wire}")
                values.append(Bytes(b))
            elif wire == 2:   # packed repeated scalars
                if (type_name, name) in self.spans:
                    values.append(Span(a, b, kind))
                else:
                    self._packed(values, type_name, name, kind, a, b)
            else:
                values.append(self._scalar(type_name, name, kind, wire, a))
                if len(values) > MAX_ITEMS:
                    raise r.error(f"{type_name}.{name}: more than {MAX_ITEMS:,} values")
            if not repeated and len(values) > 1 and not isinstance(values[-1], Span):
                del values[:-1]
        return out

    def _scalar(self, type_name, name, kind, wire, v):
        want = _WIRE.get(kind, 0)
        if wire != want:
            raise self.r.error(f"{type_name}.{name}: a {kind} field with wire type {wire}")
        if kind == "float":
            return _float32(v.to_bytes(4, "little"))
        if kind == "double":
            return struct.unpack("<d", v.to_bytes(8, "little"))[0]
        if kind == "bool":
            return v != 0
        if kind in ("int32", "int64", "sfixed64"):
            return signed64(v)
        if kind == "sfixed32":
            return signed32(v)
        if kind in ("sint32", "sint64"):
            return (v >> 1) ^ -(v & 1)
        if kind in ("uint32", "fixed32"):
            return v & 0xFFFFFFFF
        if kind in ("uint64", "fixed64"):
            return v & 0xFFFFFFFFFFFFFFFF
        if type(kind) is tuple:   # enum
            v = signed32(v)
            return self.enums[kind[1]].get(v, v)
        raise self.r.error(f"{type_name}.{name}: unsupported field type {kind}")

    def _packed(self, values, type_name, name, kind, a, b):
        r = self.r
        want = _WIRE.get(kind, 0)
        if kind in ("float", "double", "fixed32", "fixed64", "sfixed32", "sfixed64"):
            size = 4 if want == 5 else 8
            if b % size:
                raise r.error(f"{type_name}.{name}: {b} bytes of packed {kind}s", a)
            if len(values) + b // size > MAX_ITEMS:
                raise r.error(f"{type_name}.{name}: more than {MAX_ITEMS:,} values", a)
            data = r.bytes(a, b)
            values.extend(self._scalar(type_name, name, kind, want,
                                       int.from_bytes(data[i:i + size], "little"))
                          for i in range(0, b, size))
            return
        buf, base = r.view(a, b)
        p, end = a - base, a - base + b
        while p < end:
            v, p = varint(r, buf, p, end, base)
            values.append(self._scalar(type_name, name, kind, 0, v))
            if len(values) > MAX_ITEMS:
                raise r.error(f"{type_name}.{name}: more than {MAX_ITEMS:,} values", a)


# --- text format ---------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<space>(?:\s+|\#[^\n]*)+)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fF]?)
  | (?P<name>-?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}<>:;,\[\]/.])
""", re.X)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_FLOAT_NAMES = {"inf": float("inf"), "infinity": float("inf"), "nan": float("nan")}
_BOOLS = {"true": True, "t": True, "True": True, "1": True,
          "false": False, "f": False, "False": False, "0": False}


def _unescape(s):
    def one(m):
        e = m.group(1)
        if e[0] == "x":
            return chr(int(e[1:], 16))
        if e[0] in "01234567":
            return chr(int(e, 8) & 0xFF)
        if e[0] in "uU":
            code = int(e[1:], 16)
            return chr(code) if code <= 0x10FFFF else "\ufffd"
        return _SIMPLE.get(e, e)
    return _ESCAPE.sub(one, s) if "\\" in s else s


class TextParser:
    """One text-format message of `root` type from `text` (str)."""

    def __init__(self, text, schema, error):
        self.text = text
        self.messages, self.enums = schema.MESSAGES, schema.ENUMS
        self.names = {t: {spec[0]: spec for spec in fields.values()}
                      for t, fields in self.messages.items()}
        self.error = error        # error(message) -> ModelError
        self.pos = 0
        self.tokens = 0
        self.count = 0
        self.unknown = {}         # "Message.field" -> None, first seen first
        self._peeked = None

    # tokens: (kind, text), kind None at the end
    def _next(self):
        if self._peeked is not None:
            t, self._peeked = self._peeked, None
            return t
        text, pos = self.text, self.pos
        while True:
            if pos >= len(text):
                self.pos = pos
                return (None, "")
            m = _TOKEN.match(text, pos)
            if m is None:
                raise self.error(f"unexpected character {text[pos]!r} at line "
                                 f"{text.count(chr(10), 0, pos) + 1}")
            pos = m.end()
            kind = m.lastgroup
            if kind != "space":
                break
        self.pos = pos
        self.tokens += 1
        if self.tokens > MAX_TOKENS:
            raise self.error(f"more than {MAX_TOKENS:,} tokens, the most Wetron reads")
        return (kind, m.group())

    def _peek(self):
        if self._peeked is None:
            self._peeked = self._next()
        return self._peeked

    def _where(self):
        return f"line {self.text.count(chr(10), 0, self.pos) + 1}"

    def _fail(self, what):
        return self.error(f"{what} at {self._where()}")

    def parse(self, root):
        return self._body(root, None, 0)

    def _body(self, type_name, close, depth):
        if depth > MAX_DEPTH:
            raise self._fail(f"messages nested deeper than {MAX_DEPTH}")
        self.count += 1
        if self.count > MAX_MESSAGES:
            raise self._fail(f"more than {MAX_MESSAGES:,} messages")
        fields = self.names.get(type_name) if type_name else None
        out = {}
        while True:
            kind, tok = self._next()
            if kind is None:
                if close is not None:
                    raise self._fail(f"end of text before the closing {close!r}")
                return out
            if kind == "punct" and tok == close:
                return out
            if kind == "punct" and tok in ",;":
                continue
            if kind == "punct" and tok == "[":     # [extension.name]: read, kept untyped
                parts = []
                while True:
                    k, t = self._next()
                    if k is None:
                        raise self._fail("unterminated extension name")
                    if t == "]":
                        break
                    parts.append(t)
                kind, tok = "name", "[" + "".join(parts) + "]"
            if kind != "name":
                raise self._fail(f"expected a field name, found {tok!r}")
            spec = fields.get(tok) if fields is not None else None
            ftype = spec[1] if spec else None
            if spec is None and fields is not None:   # (inside an unknown one: not listed)
                self.unknown.setdefault(f"{type_name or '?'}.{tok}", None)
            values = out.setdefault(tok, [])
            k, t = self._peek()
            if k == "punct" and t == ":":
                self._next()
                k, t = self._peek()
            if k == "punct" and t == "[":
                self._next()
                k, t = self._peek()
                if not (k == "punct" and t == "]"):
                    while True:
                        values.append(self._value(ftype, type_name, tok, depth))
                        if len(values) > MAX_ITEMS:
                            raise self._fail(f"more than {MAX_ITEMS:,} values of '{tok}'")
                        k, t = self._next()
                        if k == "punct" and t == "]":
                            break
                        if not (k == "punct" and t == ","):
                            raise self._fail(f"expected ',' or ']' in the list of '{tok}'")
                else:
                    self._next()
            else:
                values.append(self._value(ftype, type_name, tok, depth))
                if len(values) > MAX_ITEMS:
                    raise self._fail(f"more than {MAX_ITEMS:,} values of '{tok}'")
            if spec is not None and not spec[2] and len(values) > 1:
                del values[:-1]

    def _value(self, ftype, type_name, name, depth):
        k, t = self._next()
        if k == "punct" and t in "{<":
            if ftype is not None and not (type(ftype) is tuple and ftype[0] == "message"):
                raise self._fail(f"'{name}' is a {self._kind(ftype)}, not a message")
            sub = ftype[1] if ftype is not None else None
            return self._body(sub, "}" if t == "{" else ">", depth + 1)
        if type(ftype) is tuple and ftype[0] == "message":
            raise self._fail(f"'{name}' is a message: expected '{{', found {t!r}")
        if k == "string":
            s = _unescape(t[1:-1])
            while self._peek()[0] == "string":     # adjacent strings concatenate
                s += _unescape(self._next()[1][1:-1])
            if ftype == "bytes":
                return Bytes(len(s))
            if ftype is not None and ftype != "string":
                raise self._fail(f"'{name}' is a {self._kind(ftype)}, found a string")
            return s
        if k == "number":
            return self._number(t, ftype, name)
        if k == "name":
            if ftype is None:
                low = t.lstrip("-").lower()
                if low in _FLOAT_NAMES:
                    v = _FLOAT_NAMES[low]
                    return -v if t.startswith("-") else v
                return t
            if ftype == "bool":
                if t not in _BOOLS:
                    raise self._fail(f"'{name}' is a bool, found {t!r}")
                return _BOOLS[t]
            if ftype in ("float", "double"):
                low = t.lstrip("-").lower()
                if low not in _FLOAT_NAMES:
                    raise self._fail(f"'{name}' is a {ftype}, found {t!r}")
                v = _FLOAT_NAMES[low]
                return -v if t.startswith("-") else v
            if type(ftype) is tuple:   # an enum by name (a fork's value names are kept)
                return t
            raise self._fail(f"'{name}' is a {self._kind(ftype)}, found {t!r}")
        raise self._fail(f"expected a value for '{name}', found {t!r}")

    def _number(self, t, ftype, name):
        text = t[:-1] if t[-1] in "fF" and not t.lower().startswith(("0x", "-0x")) else t
        is_int = re.fullmatch(r"-?(0[xX][0-9a-fA-F]+|[0-9]+)", text) is not None
        if is_int:
            if len(text.lstrip("-")) > MAX_DIGITS + 2:
                raise self._fail(f"'{name}': an integer of {len(text)} digits")
            v = int(text, 0) if not re.fullmatch(r"-?0[0-9]+", text) else int(text, 8)
        else:
            try:
                v = float(text)
            except ValueError:
                raise self._fail(f"'{name}': not a number {t!r}") from None
        if ftype is None:
            return v
        if ftype in ("float", "double"):
            return float(v)
        if ftype == "bool":
            if v not in (0, 1) or not is_int:
                raise self._fail(f"'{name}' is a bool, found {t}")
            return bool(v)
        if ftype in _INTS:
            if not is_int:
                raise self._fail(f"'{name}' is an integer ({ftype}), found {t}")
            bits = 32 if "32" in ftype else 64
            signed = not ftype.startswith(("uint", "fixed"))
            lo, hi = (-(1 << bits - 1), (1 << bits - 1) - 1) if signed else (0, (1 << bits) - 1)
            if not lo <= v <= hi:
                raise self._fail(f"'{name}': {t} is out of range for {ftype}")
            return v
        if type(ftype) is tuple:       # an enum by number
            if not is_int:
                raise self._fail(f"'{name}' is an enum, found {t}")
            return self.enums[ftype[1]].get(v, v)
        raise self._fail(f"'{name}' is a {self._kind(ftype)}, found a number")

    @staticmethod
    def _kind(ftype):
        return ftype if type(ftype) is str else f"{ftype[0]} {ftype[1]}"


def parse_text(data, schema, root, error):
    """(message, unknown field names) of text-format bytes `data` (bounded in size)."""
    if len(data) > MAX_TEXT_BYTES:
        raise error(f"{len(data):,} bytes of text, more than the {MAX_TEXT_BYTES >> 20} MB "
                    "Wetron reads")
    text = data.decode("utf-8", "replace")
    p = TextParser(text, schema, error)
    try:
        msg = p.parse(root)
    except RecursionError:
        raise error("nested too deeply") from None
    return msg, list(p.unknown)
