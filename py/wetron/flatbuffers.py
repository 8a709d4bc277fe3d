"""FlatBuffers over a byte source, lazily (the wire format of TensorFlow Lite).

A FlatBuffer is a tree of tables reached through 32-bit offsets; nothing is parsed
up front. `Reader` reads bytes through a small page cache (a model's tables are
scattered between its weights, so one read-ahead window would thrash); `Table`
reads one table's fields by id through its vtable. Every offset, length and count
is checked against the file before it is followed, so a corrupt file fails with a
ModelError that names the byte, never with an IndexError or a huge allocation.

Offsets may point anywhere, so many tables can share one vector, a vector's entries can
all name one string and strings can overlap: a small file could make a parser build far
more than itself. Strings are decoded once per position, and the elements of the vectors
read (tables, strings, scalars) and the bytes of the strings decoded are counted against
a budget in proportion to the file (MAX_READ_PER_BYTE), so what is built stays so.
"""
import struct
from collections import OrderedDict

from .errors import ModelError

PAGE_BITS = 16                # 64 KiB pages
PAGE = 1 << PAGE_BITS
MAX_PAGES = 64                # 4 MiB cached at most
# Vector elements and string bytes a file may make the parsers read, per byte of the file
# (plus a floor): each takes a byte of the file at least, so a file whose tables share no
# vectors and whose strings do not overlap stays under 1 (a parser reading a vector twice,
# under 2).
MAX_READ_PER_BYTE = 4
MIN_READ = 1 << 16

_SCALARS = {k: struct.Struct("<" + k) for k in "bBhHiIqQfd?"}
_U32 = _SCALARS["I"]
_I32 = _SCALARS["i"]
_U16 = _SCALARS["H"]
# Element type names of the schema language -> struct codes.
TYPES = {"bool": "?", "byte": "b", "ubyte": "B", "short": "h", "ushort": "H", "int": "i",
         "uint": "I", "long": "q", "ulong": "Q", "float": "f", "double": "d"}


class Reader:
    def __init__(self, source, format):
        self.source, self.format = source, format
        self.size = source.size
        self.data = getattr(source, "data", None)    # in-memory source: no paging
        self._pages = OrderedDict()
        self._strings = {}       # position -> decoded string
        self._left = MAX_READ_PER_BYTE * self.size + MIN_READ   # elements and string bytes

    def error(self, message, offset=None):
        return ModelError(message, self.source.name, self.format, offset)

    def _check(self, offset, length, what):
        if offset < 0 or length < 0 or offset + length > self.size:
            raise self.error(f"{what} at byte {offset} ({length} bytes) lies outside the "
                             f"file ({self.size} bytes): corrupt or truncated", offset)

    def _page(self, i):
        page = self._pages.get(i)
        if page is None:
            start = i << PAGE_BITS
            page = self.source.read(start, min(PAGE, self.size - start))
            self._pages[i] = page
            if len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(i)
        return page

    def bytes(self, offset, length, what="data"):
        self._check(offset, length, what)
        if self.data is not None:
            return self.data[offset:offset + length]
        if length > 2 * PAGE:
            return self.source.read(offset, length)
        first, last = offset >> PAGE_BITS, (offset + length - 1) >> PAGE_BITS
        o = offset & (PAGE - 1)
        if first == last:
            return self._page(first)[o:o + length]
        joined = b"".join(self._page(i) for i in range(first, last + 1))
        return joined[o:o + length]

    def scalar(self, st, offset, what="value"):
        n = st.size
        self._check(offset, n, what)
        if self.data is not None:
            return st.unpack_from(self.data, offset)[0]
        o = offset & (PAGE - 1)
        if o + n <= PAGE:
            return st.unpack_from(self._page(offset >> PAGE_BITS), o)[0]
        return st.unpack_from(self.bytes(offset, n), 0)[0]

    def u32(self, offset, what="offset"):
        return self.scalar(_U32, offset, what)

    def indirect(self, offset, what="offset"):
        """The position an unsigned 32-bit offset stored at `offset` points to."""
        return offset + self.u32(offset, what)

    def root(self):
        """The root table (its offset is the file's first 4 bytes)."""
        if self.size < 8:
            raise self.error(f"only {self.size} bytes: too short for a FlatBuffer", 0)
        return Table(self, self.indirect(0, "root offset"))

    def identifier(self):
        return self.bytes(4, 4) if self.size >= 8 else b""

    def spend(self, n, offset):
        """Counts `n` vector elements or string bytes read (at `offset`) against the budget."""
        self._left -= n
        if self._left < 0:
            limit = MAX_READ_PER_BYTE * self.size + MIN_READ
            raise self.error(f"more than {limit} vector elements and string bytes read from "
                             f"a file of {self.size} bytes (tables sharing vectors, "
                             "overlapping strings): corrupt or hostile", offset)

    def string_at(self, t):
        """The string whose length field is at `t`, decoded once."""
        s = self._strings.get(t)
        if s is None:
            n = self.u32(t, "string length")
            self._check(t + 4, n, "string")
            self.spend(n, t)
            s = self._strings[t] = self.bytes(t + 4, n, "string").decode("utf-8", "replace")
        return s


class Table:
    """One table: fields are addressed by their id (declaration order in the schema)."""
    __slots__ = ("r", "pos", "vt", "vlen", "tlen")

    def __init__(self, r, pos):
        self.r, self.pos = r, pos
        vt = pos - r.scalar(_I32, pos, "table")
        self.vt = vt
        self.vlen = r.scalar(_U16, vt, "vtable")
        self.tlen = r.scalar(_U16, vt + 2, "vtable")
        if self.vlen < 4 or self.vlen & 1:
            raise r.error(f"table at byte {pos} has a malformed vtable (length {self.vlen})", vt)
        r._check(vt, self.vlen, "vtable")
        r._check(pos, max(self.tlen, 4), "table")

    def field(self, i):
        """Absolute position of field `i`, or 0 if the field is absent (default)."""
        o = 4 + 2 * i
        if o >= self.vlen:
            return 0
        rel = self.r.scalar(_U16, self.vt + o)
        if rel == 0:
            return 0
        if rel >= self.tlen:
            raise self.r.error(f"field {i} of the table at byte {self.pos} lies outside it",
                               self.pos)
        return self.pos + rel

    def has(self, i):
        return self.field(i) != 0

    def get(self, i, kind, default=0):
        """A scalar field; `kind` is a schema type name ('int', 'float', 'bool', ...)."""
        p = self.field(i)
        if not p:
            return default
        return self.r.scalar(_SCALARS[TYPES[kind]], p)

    def _target(self, i):
        p = self.field(i)
        return self.r.indirect(p) if p else 0

    def string(self, i, default=""):
        t = self._target(i)
        return self.r.string_at(t) if t else default

    def table(self, i):
        t = self._target(i)
        return Table(self.r, t) if t else None

    def vector(self, i, elem_size=1):
        """(start, count) of a vector field, bounds-checked; None if absent."""
        t = self._target(i)
        if not t:
            return None
        n = self.r.u32(t, "vector length")
        self.r._check(t + 4, n * elem_size, "vector")
        return t + 4, n

    def scalars(self, i, kind, limit=None):
        """A vector of scalars as a list (the first `limit` elements)."""
        code = TYPES[kind]
        size = _SCALARS[code].size
        v = self.vector(i, size)
        if v is None:
            return []
        start, n = v
        if limit is not None:
            n = min(n, limit)
        if n == 0:
            return []
        self.r.spend(n, start)
        return list(struct.unpack(f"<{n}{code}", self.r.bytes(start, n * size)))

    def tables(self, i):
        """A vector of tables as a list of Table."""
        v = self.vector(i, 4)
        if v is None:
            return []
        start, n = v
        r = self.r
        r.spend(n, start)
        offsets = struct.unpack(f"<{n}I", r.bytes(start, 4 * n)) if n else ()
        return [Table(r, start + 4 * k + o) for k, o in enumerate(offsets)]

    def strings(self, i):
        v = self.vector(i, 4)
        if v is None:
            return []
        start, n = v
        r = self.r
        r.spend(n, start)
        offsets = struct.unpack(f"<{n}I", r.bytes(start, 4 * n)) if n else ()
        return [r.string_at(start + 4 * k + o) for k, o in enumerate(offsets)]

    def union(self, type_id, value_id):
        """(type code, Table or None) of a union: its type is field `type_id` (ubyte)."""
        code = self.get(type_id, "ubyte", 0)
        return code, (self.table(value_id) if code else None)
