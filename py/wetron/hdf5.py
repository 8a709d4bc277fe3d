"""HDF5 on the standard library, for the files h5py and Keras write.

Reads superblocks v0-v3, object headers v1/v2 (with continuation blocks), old-style
groups (v1 B-tree + local heap) and new-style groups (link messages; dense storage in
a fractal heap indexed by a v2 B-tree), attributes (compact and dense; fixed and
variable-length strings through the global heap, numbers, arrays) and datasets
(compact, contiguous and chunked layouts; chunk indexes: v1 B-tree, single chunk,
implicit, fixed array; filters deflate, shuffle, fletcher32, lzf).

Lazy: structure is read by ranges from the Source when asked for, dataset values only
by `Dataset.read`. Every size, count and depth is bounded; group cycles are cut.
Checksums are not verified (every structure is bounds-checked instead).
"""
import itertools
import math
import struct
import zlib

from .errors import ModelError

SIGNATURE = b"\x89HDF\r\n\x1a\n"

MAX_RANK = 32                   # HDF5's own limit
MAX_TYPE_DEPTH = 16             # nesting of compound/array/vlen/enum types
MAX_MEMBERS = 65536             # members of a compound or enum type
MAX_HEADER_BYTES = 64 << 20     # one object header, all its chunks
MAX_CONTINUATIONS = 4096
MAX_MESSAGES = 1 << 20
MAX_LINKS = 1 << 20             # links of one group
MAX_TREE_DEPTH = 64             # B-tree levels, fractal heap indirect levels
MAX_TREE_NODES = 1 << 20
MAX_STRUCT_READ = 256 << 20     # one metadata structure (heap segment, collection)
MAX_FILTERS = 32
MAX_WALK_DEPTH = 64             # group nesting in walk()
MAX_CHUNK_BYTES = 1 << 30       # one chunk, decoded
MAX_VALUE_BYTES = 1 << 31       # values read by one Dataset.read

# Classes of datatype (the low nibble of a datatype message's first byte).
FIXED, FLOAT, TIME, STRING, BITFIELD, OPAQUE, COMPOUND, REFERENCE, ENUM, VLEN, ARRAY = range(11)
_FILTER_NAMES = {1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit",
                 6: "scaleoffset", 32000: "lzf", 32001: "blosc", 32004: "lz4",
                 32008: "bitshuffle", 32015: "zstd"}
_INT_FORMATS = {(1, True): "b", (1, False): "B", (2, True): "h", (2, False): "H",
                (4, True): "i", (4, False): "I", (8, True): "q", (8, False): "Q"}


def find_signature(head):
    """Offset of the HDF5 signature in `head` (0, 512, 1024, 2048, …), or None."""
    offset = 0
    while offset + 8 <= len(head):
        if head[offset:offset + 8] == SIGNATURE:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


def _uint(data, pos, n):
    return int.from_bytes(data[pos:pos + n], "little")


def _limit_enc_size(n):
    """Bytes HDF5 uses to encode numbers up to n (H5VM_limit_enc_size)."""
    return (max(n, 1).bit_length() - 1) // 8 + 1


class _Cursor:
    """Little-endian reads from one structure's bytes; `at` is its file address."""
    __slots__ = ("f", "data", "pos", "at")

    def __init__(self, f, data, at, pos=0):
        self.f, self.data, self.at, self.pos = f, data, at, pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise self.f.error(f"structure truncated: {n} bytes wanted past its end",
                               self.at + self.pos)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return _uint(self.take(2), 0, 2)

    def u32(self):
        return _uint(self.take(4), 0, 4)

    def uint(self, n):
        return _uint(self.take(n), 0, n)

    def addr(self):
        """An address (None when undefined: all bits set)."""
        n = self.f.offset_size
        v = _uint(self.take(n), 0, n)
        return None if v == (1 << (8 * n)) - 1 else v

    def length(self):
        return self.uint(self.f.length_size)

    def skip(self, n):
        self.take(n)

    def cstring(self, limit=None):
        end = self.data.find(b"\0", self.pos, len(self.data) if limit is None else self.pos + limit)
        if end < 0:
            raise self.f.error("unterminated name", self.at + self.pos)
        s = self.data[self.pos:end]
        self.pos = end + 1
        return s.decode("utf-8", "replace")

    def signature(self, sig):
        got = self.take(len(sig))
        if got != sig:
            raise self.f.error(f"expected {sig.decode()} structure, found {bytes(got)!r}",
                               self.at + self.pos - len(sig))


class Datatype:
    """One HDF5 datatype: class, element size, and what decoding needs."""
    __slots__ = ("cls", "size", "version", "order", "signed", "exp_size", "mant_size",
                 "pad", "charset", "vlen_string", "base", "members", "names", "values",
                 "dims", "ref_type")

    def __init__(self, cls, size, version):
        self.cls, self.size, self.version = cls, size, version
        self.order, self.signed = "<", False
        self.exp_size = self.mant_size = self.pad = self.charset = self.ref_type = 0
        self.vlen_string = False
        self.base = None
        self.members = []       # compound: (name, offset, Datatype)
        self.names, self.values = [], []   # enum
        self.dims = ()          # array

    @property
    def name(self):
        """The dtype name used in the graph document."""
        c, s = self.cls, self.size
        if c == FIXED and s in (1, 2, 4, 8):
            return f"{'int' if self.signed else 'uint'}{s * 8}"
        if c == BITFIELD and s in (1, 2, 4, 8):
            return f"uint{s * 8}"
        if c == FLOAT:
            if s == 2:
                return "bfloat16" if self.exp_size == 8 else "float16"
            return {4: "float32", 8: "float64"}.get(s, f"float{s * 8}")
        if c == STRING or (c == VLEN and self.vlen_string):
            return "string"
        if c == ENUM:
            return "bool" if self.is_bool else self.base.name
        if c == COMPOUND:
            return self.complex_name or "compound"
        if c == ARRAY:
            return self.base.name
        return {TIME: "time", OPAQUE: "opaque", REFERENCE: "reference", VLEN: "vlen"}.get(
            c, f"hdf5class{c}")

    @property
    def is_bool(self):
        """h5py stores numpy bool as an enum of int8 {FALSE: 0, TRUE: 1}."""
        return (self.cls == ENUM and self.size == 1 and len(self.names) == 2
                and sorted(zip(self.values, self.names)) == [(0, "FALSE"), (1, "TRUE")])

    @property
    def complex_name(self):
        """h5py stores complex numbers as a compound {r, i} of two equal floats."""
        m = self.members
        if (self.cls == COMPOUND and len(m) == 2 and m[0][2].cls == FLOAT
                and m[1][2].cls == FLOAT and m[0][2].size == m[1][2].size
                and m[0][1] == 0 and m[1][1] == m[0][2].size == self.size // 2):
            return {4: "complex64", 8: "complex128"}.get(m[0][2].size)
        return None

    def decode(self, f, data, count):
        """The first `count` elements stored in `data`, as Python values."""
        s = self.size
        if count <= 0:
            return []
        if s <= 0 or len(data) < count * s:
            raise f.error(f"{len(data)} bytes are too few for {count} {self.name} values")
        c = self.cls
        if c in (FIXED, BITFIELD, TIME) or (c == ENUM and self.base.cls in (FIXED, BITFIELD)):
            signed = self.signed if c != ENUM else self.base.signed
            fmt = _INT_FORMATS.get((s, signed))
            order = self.order if c != ENUM else self.base.order
            if fmt:
                values = list(struct.unpack_from(f"{order}{count}{fmt}", data, 0))
            else:
                values = [int.from_bytes(data[i * s:(i + 1) * s],
                                         "little" if order == "<" else "big", signed=signed)
                          for i in range(count)]
            return [v != 0 for v in values] if self.is_bool else values
        if c == FLOAT:
            if s == 2 and self.exp_size == 8:   # bfloat16: the high half of a float32
                halves = struct.unpack_from(f"{self.order}{count}H", data, 0)
                return list(struct.unpack(f"<{count}f",
                                          struct.pack(f"<{count}I", *[h << 16 for h in halves])))
            fmt = {2: "e", 4: "f", 8: "d"}.get(s)
            if fmt is None:
                raise f.error(f"cannot decode {s * 8}-bit floating point values")
            return list(struct.unpack_from(f"{self.order}{count}{fmt}", data, 0))
        if c == STRING:
            return [self._text(bytes(data[i * s:(i + 1) * s])) for i in range(count)]
        if c == VLEN:
            out = []
            for i in range(count):
                cur = _Cursor(f, data, 0, i * s)
                n = cur.u32()
                collection, index = cur.addr(), cur.u32()
                blob = f.global_object(collection, index) if collection is not None else b""
                if self.vlen_string:
                    out.append(self._text(blob[:n]))
                else:
                    bs = self.base.size
                    if n * bs > len(blob):
                        raise f.error(f"variable-length sequence of {n} values holds "
                                      f"{len(blob)} bytes")
                    out.append(self.base.decode(f, blob, n))
            return out
        if c == COMPOUND:
            cname = self.complex_name
            if cname:
                part = self.members[0][2]
                flat = part.decode(f, data, count * 2) if s == 2 * part.size else None
                return [[flat[2 * i], flat[2 * i + 1]] for i in range(count)]
            out = []
            for i in range(count):
                item = {}
                for name, offset, t in self.members:
                    start = i * s + offset
                    if offset + t.size > s:
                        raise f.error(f"compound member '{name}' lies outside its element")
                    item[name] = t.decode(f, data[start:start + t.size], 1)[0]
                out.append(item)
            return out
        if c == ARRAY:
            n = math.prod(self.dims)
            return [self.base.decode(f, data[i * s:(i + 1) * s], n) for i in range(count)]
        if c == ENUM:
            return self.base.decode(f, data, count)
        if c == REFERENCE:
            return [_uint(data, i * s, min(s, 8)) for i in range(count)]
        return [bytes(data[i * s:(i + 1) * s]).hex() for i in range(count)]   # opaque

    def _text(self, raw):
        if self.pad == 0:            # NUL-terminated
            raw = raw.split(b"\0", 1)[0]
        elif self.pad == 1:          # NUL-padded
            raw = raw.rstrip(b"\0")
        else:                        # space-padded
            raw = raw.rstrip(b" ")
        return raw.decode("utf-8", "replace")


class Object:
    """An object in the file: its header's messages, read on first use."""

    def __init__(self, f, address, path):
        self.file, self.address, self.path = f, address, path
        self._messages = None
        self._attrs = None

    @property
    def name(self):
        return self.path.rsplit("/", 1)[-1] if self.path != "/" else "/"

    @property
    def messages(self):
        """[(type, flags, file address of the data, data bytes)] of the header."""
        if self._messages is None:
            self._messages = self.file.read_header(self.address)
        return self._messages

    def message(self, mtype):
        for t, flags, at, data in self.messages:
            if t == mtype:
                return flags, at, data
        return None

    @property
    def attrs(self):
        """{name: value}: scalars as Python values, arrays as flat lists."""
        if self._attrs is None:
            self._attrs = {a.name: a.value for a in self.attributes()}
        return self._attrs

    def attributes(self):
        f = self.file
        out = []
        for t, flags, at, data in self.messages:
            if t == 0x0C:
                out.append(f.attribute(data, at))
            elif t == 0x15:
                out.extend(f.dense_attributes(data, at))
        return out


class Group(Object):
    kind = "group"

    def __init__(self, f, address, path):
        super().__init__(f, address, path)
        self._links = None

    def links(self):
        """[(name, ("hard", address) | ("soft", path) | ("external", file, path))]."""
        if self._links is None:
            self._links = self.file.group_links(self)
        return self._links

    def keys(self):
        return [name for name, _ in self.links()]

    def items(self):
        """(name, Object) for every hard link."""
        for name, link in self.links():
            if link[0] == "hard":
                yield name, self.file.object(link[1], _join(self.path, name))

    def child(self, name):
        for n, link in self.links():
            if n == name:
                if link[0] != "hard":
                    return None
                return self.file.object(link[1], _join(self.path, name))
        return None

    def get(self, path):
        """The object at a '/'-separated path below this group, or None."""
        node = self
        for part in path.strip("/").split("/"):
            if not part:
                continue
            if not isinstance(node, Group):
                return None
            node = node.child(part)
            if node is None:
                return None
        return node


class Dataset(Object):
    kind = "dataset"

    def __init__(self, f, address, path):
        super().__init__(f, address, path)
        self._info = None

    def _load(self):
        if self._info is None:
            f = self.file
            dtype = shape = layout = None
            filters = []
            for t, flags, at, data in self.messages:
                if t == 0x03 and dtype is None:
                    dtype = f.datatype_message(data, at, flags)
                elif t == 0x01 and shape is None:
                    shape = f.dataspace(data, at)
                elif t == 0x08 and layout is None:
                    layout = f.layout(data, at)
                elif t == 0x0B:
                    filters = f.filter_pipeline(data, at)
            if dtype is None or layout is None:
                raise f.error(f"dataset '{self.path}' has no "
                              f"{'datatype' if dtype is None else 'layout'} message", self.address)
            self._info = (dtype, shape if shape is not None else ("null",), layout, filters)
        return self._info

    @property
    def dtype(self):
        return self._load()[0]

    @property
    def shape(self):
        """Dimensions (a tuple; () for a scalar), or None for an empty (null) dataspace."""
        s = self._load()[1]
        return None if s == ("null",) else s

    @property
    def count(self):
        s = self.shape
        return 0 if s is None else math.prod(s)

    @property
    def layout(self):
        return self._load()[2]

    @property
    def filters(self):
        return self._load()[3]

    @property
    def chunks(self):
        lay = self.layout
        return lay.get("chunk") if lay["class"] == "chunked" else None

    def data_span(self):
        """(file offset, length) of the values stored raw in one piece, or None."""
        lay = self.layout
        if lay["class"] == "contiguous" and lay["address"] is not None and not self.filters:
            n = min(lay["size"], self.count * self.dtype.size)
            return (self.file.base + lay["address"], n)
        if lay["class"] == "compact":
            return (lay["at"], min(len(lay["data"]), self.count * self.dtype.size))
        return None

    def read(self, count=None):
        """The first `count` (default: all) values in row-major order, as a flat list."""
        total = self.count
        n = total if count is None else max(0, min(total, int(count)))
        if n == 0:
            return []
        if n * self.dtype.size > MAX_VALUE_BYTES:
            raise self.file.error(f"dataset '{self.path}': {n} values of {self.dtype.size} "
                                  f"bytes are more than {MAX_VALUE_BYTES} bytes to read")
        raw = self.file.dataset_bytes(self, n)
        return self.dtype.decode(self.file, raw, n)


class CommittedDatatype(Object):
    """A committed (named) datatype stored as its own object."""
    kind = "datatype"


def _join(parent, name):
    return ("" if parent == "/" else parent) + "/" + name


class File:
    """An HDF5 file read through a Source. `format` names it in error messages."""

    def __init__(self, source, format="HDF5"):
        self.source, self.format = source, format
        self._objects = {}
        self._collections = {}
        self._heaps = {}
        head = source.read(0, min(source.size, 4096))
        at = find_signature(head)
        if at is None:   # the superblock may follow a large user block
            offset = 4096
            while offset + 8 <= source.size and at is None:
                if source.read(offset, 8) == SIGNATURE:
                    at = offset
                offset *= 2
        if at is None:
            raise self.error("not an HDF5 file: no HDF5 signature")
        self.base = at
        self._superblock(at)

    def error(self, message, offset=None):
        return ModelError(message, self.source.name, self.format, offset)

    # --- raw access ---------------------------------------------------------------
    def read(self, address, length):
        """`length` bytes at a file address (relative to the superblock's base)."""
        if address is None:
            raise self.error("undefined address")
        if length > MAX_STRUCT_READ:
            raise self.error(f"structure of {length} bytes is larger than "
                             f"{MAX_STRUCT_READ} bytes", self.base + address)
        start = self.base + address
        if address < 0 or start + length > self.source.size:
            raise self.error(f"{length} bytes at address {address} lie beyond the end of "
                             f"the file ({self.source.size} bytes)", start)
        return self.source.read(start, length)

    def cursor(self, address, length):
        """A cursor over up to `length` bytes at `address` (fewer at the end of file)."""
        if address is None:
            raise self.error("undefined address")
        length = max(0, min(length, self.source.size - self.base - address))
        return _Cursor(self, self.read(address, length), self.base + address)

    def _superblock(self, at):
        c = _Cursor(self, self.source.read(at, min(self.source.size - at, 256)), at, 8)
        version = c.u8()
        self.superblock_version = version
        if version in (0, 1):
            c.skip(4)        # free-space, root group symbol table, reserved, shared header
            self.offset_size, self.length_size = c.u8(), c.u8()
            self._check_sizes(at)
            c.skip(1 + 4 + 4)   # reserved, leaf K, internal K, flags
            if version == 1:
                c.skip(4)
            c.addr()            # base address: addresses are relative to the superblock
            c.addr()            # free space
            c.addr()            # end of file
            c.addr()            # driver info
            c.addr()            # root entry: link name offset
            root = c.addr()
        elif version in (2, 3):
            self.offset_size, self.length_size = c.u8(), c.u8()
            self._check_sizes(at)
            c.skip(1)           # flags
            c.addr()            # base
            c.addr()            # superblock extension
            c.addr()            # end of file
            root = c.addr()
        else:
            raise self.error(f"superblock version {version} is not supported", at + 8)
        if root is None:
            raise self.error("the file has no root group", at)
        self.root = self.object(root, "/")
        if not isinstance(self.root, Group):
            raise self.error("the root object is not a group", self.base + root)

    def _check_sizes(self, at):
        if self.offset_size not in (2, 4, 8) or self.length_size not in (2, 4, 8):
            raise self.error(f"unsupported address/length sizes {self.offset_size}/"
                             f"{self.length_size}", at + 13)

    # --- objects -------------------------------------------------------------------
    def object(self, address, path):
        """The object whose header is at `address` (cached: one object per address)."""
        obj = self._objects.get(address)
        if obj is None:
            probe = Object(self, address, path)
            types = {t for t, _, _, _ in probe.messages}
            if types & {0x11, 0x02, 0x06}:
                cls = Group
            elif 0x08 in types:
                cls = Dataset
            elif 0x03 in types:
                cls = CommittedDatatype
            else:
                cls = Group if path == "/" else Object
            obj = cls(self, address, path)
            obj._messages = probe._messages
            if cls is Object:
                obj.kind = "object"
            self._objects[address] = obj
        return obj

    def walk(self, group=None):
        """Every (path, Object) below `group` (default: root), depth first, each object
        once: hard links to an object already seen are not followed again."""
        group = group or self.root
        seen = {group.address}
        stack = [(group, 0)]
        while stack:
            g, depth = stack.pop()
            children = []
            for name, link in g.links():
                if link[0] != "hard" or link[1] in seen:
                    continue
                seen.add(link[1])
                obj = self.object(link[1], _join(g.path, name))
                children.append(obj)
            for obj in children:
                yield obj.path, obj
            if depth + 1 < MAX_WALK_DEPTH:
                stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Group))

    # --- object headers ------------------------------------------------------------
    def read_header(self, address):
        if address is None:
            raise self.error("object at an undefined address")
        c = self.cursor(address, 16)
        if c.data[:4] == b"OHDR":
            return self._header_v2(address)
        if not c.data or c.data[0] != 1:
            raise self.error(f"no object header at address {address}", self.base + address)
        c.skip(2)
        c.u16()     # message count (continuations may follow: parse to the end instead)
        c.u32()     # reference count
        size = c.u32()
        blocks = [(address + 16, size)]
        return self._messages_v1(blocks)

    def _messages_v1(self, blocks):
        messages = []
        total = 0
        i = 0
        while i < len(blocks):
            at, size = blocks[i]
            i += 1
            if i > MAX_CONTINUATIONS:
                raise self.error(f"more than {MAX_CONTINUATIONS} object header blocks")
            total += size
            if total > MAX_HEADER_BYTES:
                raise self.error(f"object header larger than {MAX_HEADER_BYTES} bytes",
                                 self.base + at)
            data = self.read(at, size)
            c = _Cursor(self, data, self.base + at)
            while c.pos + 8 <= len(data):
                mtype, msize, flags = c.u16(), c.u16(), c.u8()
                c.skip(3)
                start = c.pos
                body = c.take(msize)
                self._add_message(messages, blocks, mtype, flags, self.base + at + start, body)
        return messages

    def _header_v2(self, address):
        c = self.cursor(address, 64)
        c.skip(4)
        version, flags = c.u8(), c.u8()
        if version != 2:
            raise self.error(f"object header version {version} is not supported",
                             self.base + address + 4)
        if flags & 0x20:
            c.skip(16)
        if flags & 0x10:
            c.skip(4)
        size = c.uint(1 << (flags & 3))
        start = address + c.pos
        blocks = [(start, size, False)]
        messages = []
        total, i = 0, 0
        while i < len(blocks):
            at, size, signed = blocks[i]
            i += 1
            if i > MAX_CONTINUATIONS:
                raise self.error(f"more than {MAX_CONTINUATIONS} object header blocks")
            total += size
            if total > MAX_HEADER_BYTES:
                raise self.error(f"object header larger than {MAX_HEADER_BYTES} bytes",
                                 self.base + at)
            data = self.read(at, size)
            c = _Cursor(self, data, self.base + at)
            end = len(data)
            if signed:       # a continuation block: OCHK … checksum
                c.signature(b"OCHK")
                end -= 4
            head = 6 if flags & 0x04 else 4
            while c.pos + head <= end:
                mtype, msize, mflags = c.u8(), c.u16(), c.u8()
                if flags & 0x04:
                    c.skip(2)
                begin = c.pos
                if begin + msize > end:
                    raise self.error("object header message runs past its block",
                                     self.base + at + begin)
                body = c.take(msize)
                self._add_message(messages, blocks, mtype, mflags, self.base + at + begin,
                                  body, v2=True)
        return messages

    def _add_message(self, messages, blocks, mtype, flags, at, body, v2=False):
        if len(messages) >= MAX_MESSAGES:
            raise self.error(f"object header has more than {MAX_MESSAGES} messages", at)
        if mtype == 0x10:     # continuation
            c = _Cursor(self, body, at)
            address, length = c.addr(), c.length()
            if address is None:
                raise self.error("object header continuation at an undefined address", at)
            blocks.append((address, length, True) if v2 else (address, length))
        elif mtype != 0:
            messages.append((mtype, flags, at, body))

    # --- messages --------------------------------------------------------------------
    def dataspace(self, data, at):
        """Shape tuple; ("null",) for an empty dataspace."""
        c = _Cursor(self, data, at)
        version, rank, flags = c.u8(), c.u8(), c.u8()
        if rank > MAX_RANK:
            raise self.error(f"dataspace of rank {rank} (at most {MAX_RANK})", at)
        if version == 1:
            c.skip(5)
            kind = 1 if rank else 0
        elif version == 2:
            kind = c.u8()
        else:
            raise self.error(f"dataspace message version {version} is not supported", at)
        if kind == 2:
            return ("null",)
        return tuple(c.length() for _ in range(rank))

    def datatype_message(self, data, at, flags=0):
        if flags & 0x02:       # shared: the type lives in a committed datatype object
            return self._shared_datatype(data, at)
        return self.datatype(data, at)

    def _shared_datatype(self, data, at):
        c = _Cursor(self, data, at)
        version, kind = c.u8(), c.u8()
        if version == 1:
            c.skip(6)
        elif version not in (2, 3) or (version == 3 and kind != 2):
            raise self.error("shared datatype stored in a shared-message heap is not "
                             "supported", at)
        address = c.addr()
        target = self._objects.get(address) or Object(self, address, "")
        found = [m for m in target.messages if m[0] == 0x03]
        if not found or found[0][1] & 0x02:
            raise self.error("shared datatype does not lead to a datatype", at)
        return self.datatype(found[0][3], found[0][2])

    def datatype(self, data, at, pos=0, depth=0):
        t, _ = self._datatype(_Cursor(self, data, at, pos), depth)
        return t

    def _datatype(self, c, depth):
        if depth > MAX_TYPE_DEPTH:
            raise self.error(f"datatype nested deeper than {MAX_TYPE_DEPTH}", c.at + c.pos)
        b0 = c.u8()
        cls, version = b0 & 0x0F, b0 >> 4
        bits = c.uint(3)
        size = c.u32()
        t = Datatype(cls, size, version)
        if cls in (FIXED, BITFIELD):
            t.order = ">" if bits & 1 else "<"
            t.signed = bool(bits & 0x08) and cls == FIXED
            c.skip(4)
        elif cls == FLOAT:
            t.order = ">" if bits & 1 else "<"
            if bits & 0x40:
                raise self.error("VAX-order floating point is not supported", c.at + c.pos)
            c.skip(5)           # bit offset, precision, exponent location
            t.exp_size = c.u8()
            c.skip(1)
            t.mant_size = c.u8()
            c.skip(4)
        elif cls == TIME:
            t.order = ">" if bits & 1 else "<"
            c.skip(2)
        elif cls == STRING:
            t.pad, t.charset = bits & 0x0F, (bits >> 4) & 0x0F
        elif cls == OPAQUE:
            c.skip(bits & 0xFF)
        elif cls == COMPOUND:
            n = bits & 0xFFFF
            for _ in range(n):
                start = c.pos
                name = c.cstring()
                if version < 3:
                    c.pos = start + (c.pos - start + 7) // 8 * 8
                    offset = c.u32()
                    if version == 1:
                        c.skip(28)
                else:
                    offset = c.uint(_limit_enc_size(size))
                member, _ = self._datatype(c, depth + 1)
                t.members.append((name, offset, member))
        elif cls == REFERENCE:
            t.ref_type = bits & 0x0F
        elif cls == ENUM:
            n = bits & 0xFFFF
            t.base, _ = self._datatype(c, depth + 1)
            for _ in range(n):
                start = c.pos
                t.names.append(c.cstring())
                if version < 3:
                    c.pos = start + (c.pos - start + 7) // 8 * 8
            bs = t.base.size
            raw = c.take(n * bs)
            if t.base.cls in (FIXED, BITFIELD) and bs in (1, 2, 4, 8):
                t.values = list(struct.unpack(f"{t.base.order}{n}{_INT_FORMATS[(bs, t.base.signed)]}",
                                              raw))
        elif cls == VLEN:
            t.vlen_string = (bits & 0x0F) == 1
            t.pad, t.charset = (bits >> 4) & 0x0F, (bits >> 8) & 0x0F
            t.base, _ = self._datatype(c, depth + 1)
        elif cls == ARRAY:
            rank = c.u8()
            if rank > MAX_RANK:
                raise self.error(f"array datatype of rank {rank}", c.at + c.pos)
            if version < 3:
                c.skip(3)
            t.dims = tuple(c.u32() for _ in range(rank))
            if version < 3:
                c.skip(4 * rank)
            t.base, _ = self._datatype(c, depth + 1)
        else:
            raise self.error(f"unknown datatype class {cls}", c.at + c.pos - 8)
        return t, c.pos

    def layout(self, data, at):
        c = _Cursor(self, data, at)
        version = c.u8()
        lay = {"class": None, "address": None, "size": 0, "chunk": None, "index": None}
        if version in (1, 2):
            ndims, kind = c.u8(), c.u8()
            c.skip(5)
            if ndims > MAX_RANK + 1:
                raise self.error(f"layout of rank {ndims}", at)
            if kind in (1, 2):
                lay["address"] = c.addr()
            dims = [c.u32() for _ in range(ndims)]
            if kind == 0:
                size = c.u32()
                lay.update({"class": "compact", "at": at + c.pos, "data": c.take(size)})
            elif kind == 1:
                lay.update({"class": "contiguous", "size": math.prod(dims)})
            elif kind == 2:
                lay.update({"class": "chunked", "chunk": tuple(dims[:-1]), "index": "btree1"})
            else:
                raise self.error(f"unknown layout class {kind}", at)
            if kind == 1:
                lay["size"] = 1 << 62   # v1/v2 do not store the size: the dataspace bounds it
            return lay
        if version not in (3, 4, 5):   # 5 (HDF5 2.0) is encoded as 4
            raise self.error(f"layout message version {version} is not supported", at)
        kind = c.u8()
        if kind == 0:
            size = c.u16()
            lay.update({"class": "compact", "at": at + c.pos, "data": c.take(size)})
        elif kind == 1:
            lay.update({"class": "contiguous", "address": c.addr(), "size": c.length()})
        elif kind == 2 and version == 3:
            ndims = c.u8()
            if not 2 <= ndims <= MAX_RANK + 1:
                raise self.error(f"chunked layout of rank {ndims}", at)
            lay["address"] = c.addr()
            dims = [c.u32() for _ in range(ndims)]
            lay.update({"class": "chunked", "chunk": tuple(dims[:-1]), "index": "btree1"})
        elif kind == 2:
            flags, ndims, enc = c.u8(), c.u8(), c.u8()
            if not 2 <= ndims <= MAX_RANK + 1 or not 1 <= enc <= 8:
                raise self.error("bad chunked layout", at)
            dims = [c.uint(enc) for _ in range(ndims)]
            index = c.u8()
            lay.update({"class": "chunked", "chunk": tuple(dims[:-1])})
            if index == 1:
                lay["index"] = "single"
                if flags & 0x02:
                    lay["filtered_size"], lay["filter_mask"] = c.length(), c.u32()
            elif index == 2:
                lay["index"] = "implicit"
            elif index == 3:
                lay["index"] = "farray"
                c.skip(1)
            elif index == 4:
                lay["index"] = "earray"
                c.skip(5)
            elif index == 5:
                lay["index"] = "btree2"
                c.skip(6)
            else:
                raise self.error(f"unknown chunk index type {index}", at)
            lay["address"] = c.addr()
        elif kind == 3:
            lay["class"] = "virtual"
        else:
            raise self.error(f"unknown layout class {kind}", at)
        if lay["chunk"] is not None and any(d == 0 for d in lay["chunk"]):
            raise self.error("chunk with a zero dimension", at)
        return lay

    def filter_pipeline(self, data, at):
        c = _Cursor(self, data, at)
        version, n = c.u8(), c.u8()
        if n > MAX_FILTERS:
            raise self.error(f"{n} filters (at most {MAX_FILTERS})", at)
        if version == 1:
            c.skip(6)
        elif version != 2:
            raise self.error(f"filter pipeline version {version} is not supported", at)
        filters = []
        for _ in range(n):
            fid = c.u16()
            name_len = c.u16() if version == 1 or fid >= 256 else 0
            flags, ncd = c.u16(), c.u16()
            name = c.take(name_len).split(b"\0", 1)[0].decode("ascii", "replace") if name_len else ""
            cd = [c.u32() for _ in range(ncd)]
            if version == 1 and ncd % 2:
                c.skip(4)
            filters.append((fid, name or _FILTER_NAMES.get(fid, f"filter {fid}"), flags, cd))
        return filters

    def attribute(self, data, at):
        c = _Cursor(self, data, at)
        version = c.u8()
        flags = c.u8()
        name_size, type_size, space_size = c.u16(), c.u16(), c.u16()
        if version == 3:
            c.skip(1)
        elif version not in (1, 2):
            raise self.error(f"attribute message version {version} is not supported", at)

        def field(n):
            start = c.pos
            raw = c.take(n)
            if version == 1:
                c.pos = start + (n + 7) // 8 * 8
            return raw, at + start

        raw_name, _ = field(name_size)
        name = raw_name.split(b"\0", 1)[0].decode("utf-8", "replace")
        raw_type, type_at = field(type_size)
        raw_space, space_at = field(space_size)
        dtype = (self._shared_datatype(raw_type, type_at) if flags & 0x01
                 else self.datatype(raw_type, type_at))
        if flags & 0x02:
            raise self.error(f"attribute '{name}': shared dataspace is not supported", at)
        shape = self.dataspace(raw_space, space_at)
        return Attribute(self, name, dtype, shape, data, c.pos, at)

    # --- groups ----------------------------------------------------------------------
    def group_links(self, group):
        links = []
        ordered = []
        for t, flags, at, data in group.messages:
            if t == 0x11:
                c = _Cursor(self, data, at)
                btree, heap = c.addr(), c.addr()
                links.extend(self._symbol_table(btree, heap))
            elif t == 0x06:
                ordered.append(self._link(data, at))
            elif t == 0x02:
                ordered.extend(self._dense_links(data, at))
            if len(links) + len(ordered) > MAX_LINKS:
                raise self.error(f"group '{group.path}' has more than {MAX_LINKS} links",
                                 self.base + group.address)
        if ordered:
            # h5py lists links by creation order where it is tracked, else by name.
            if all(o[0] is not None for o in ordered):
                ordered.sort(key=lambda o: o[0])
            else:
                ordered.sort(key=lambda o: o[1].encode("utf-8", "surrogatepass"))
            links.extend((name, link) for _, name, link in ordered)
        return links

    def _symbol_table(self, btree, heap):
        if heap is None or btree is None:
            return []
        hc = self.cursor(heap, 32)
        hc.signature(b"HEAP")
        hc.skip(4)
        seg_size = hc.length()
        hc.length()
        seg_addr = hc.addr()
        names = self.read(seg_addr, seg_size)
        out = []
        entry_size = 2 * self.offset_size + 24
        for node in self._btree1_children(btree, 0):
            c = self.cursor(node, 8)
            c.signature(b"SNOD")
            c.skip(2)
            n = c.u16()
            c = _Cursor(self, self.read(node + 8, n * entry_size), self.base + node + 8)
            for _ in range(n):
                name_off, address = c.uint(self.offset_size), c.addr()
                cache = c.u32()
                c.skip(4)
                scratch = c.take(16)
                end = names.find(b"\0", name_off)
                if name_off >= len(names) or end < 0:
                    raise self.error("symbol table name outside its heap", self.base + node)
                name = names[name_off:end].decode("utf-8", "replace")
                if cache == 2:
                    off = _uint(scratch, 0, 4)
                    e = names.find(b"\0", off)
                    out.append((name, ("soft", names[off:e].decode("utf-8", "replace")
                                       if 0 <= off < len(names) and e >= 0 else "")))
                elif address is not None:
                    out.append((name, ("hard", address)))
                if len(out) > MAX_LINKS:
                    raise self.error(f"group has more than {MAX_LINKS} links")
        return out

    def _btree1_children(self, address, node_type, dims=0):
        """Level-0 children of a v1 B-tree: addresses (groups) or (key, address) (chunks)."""
        out = []
        seen = set()
        stack = [(address, None, 0)]
        key_size = self.length_size if node_type == 0 else 8 + 8 * (dims + 1)
        while stack:
            addr, want_level, depth = stack.pop()
            if addr in seen or depth > MAX_TREE_DEPTH or len(seen) > MAX_TREE_NODES:
                raise self.error("v1 B-tree is cyclic or too deep", self.base + (addr or 0))
            seen.add(addr)
            c = self.cursor(addr, 8 + 2 * self.offset_size)
            c.signature(b"TREE")
            ntype, level, used = c.u8(), c.u8(), c.u16()
            if ntype != node_type or (want_level is not None and level != want_level):
                raise self.error("v1 B-tree node of the wrong kind", self.base + addr)
            body_at = addr + 8 + 2 * self.offset_size
            body = self.read(body_at, used * (key_size + self.offset_size) + key_size)
            bc = _Cursor(self, body, self.base + body_at)
            children = []
            for _ in range(used):
                key = bc.take(key_size)
                child = bc.addr()
                children.append((key, child))
            if level == 0:
                out.extend(children if node_type == 1 else [ch for _, ch in children])
            else:
                stack.extend((ch, level - 1, depth + 1) for _, ch in reversed(children))
            if len(out) > MAX_TREE_NODES:
                raise self.error("v1 B-tree has too many entries", self.base + addr)
        return out

    def _link(self, data, at):
        """(creation order or None, name, link) from a link message."""
        c = _Cursor(self, data, at)
        version, flags = c.u8(), c.u8()
        if version != 1:
            raise self.error(f"link message version {version} is not supported", at)
        ltype = c.u8() if flags & 0x08 else 0
        order = c.uint(8) if flags & 0x04 else None
        if flags & 0x10:
            c.skip(1)
        name = c.take(c.uint(1 << (flags & 3))).decode("utf-8", "replace")
        if ltype == 0:
            link = ("hard", c.addr())
        elif ltype == 1:
            link = ("soft", c.take(c.u16()).decode("utf-8", "replace"))
        elif ltype == 64:
            raw = c.take(c.u16())
            parts = raw[1:].split(b"\0")
            link = ("external", parts[0].decode("utf-8", "replace"),
                    (parts[1] if len(parts) > 1 else b"").decode("utf-8", "replace"))
        else:
            link = ("user", ltype)
        return (order, name, link)

    def _dense_links(self, data, at):
        c = _Cursor(self, data, at)
        c.u8()
        flags = c.u8()
        if flags & 0x01:
            c.skip(8)
        heap, name_index = c.addr(), c.addr()
        if heap is None or name_index is None:
            return []
        fh = self.fractal_heap(heap)
        out = []
        for record in self.btree2_records(name_index, 5):
            obj = fh.get(record[4:])
            out.append(self._link(obj, self.base + heap))
        return out

    def dense_attributes(self, data, at):
        c = _Cursor(self, data, at)
        c.u8()
        flags = c.u8()
        if flags & 0x01:
            c.skip(2)
        heap, name_index = c.addr(), c.addr()
        if heap is None or name_index is None:
            return []
        fh = self.fractal_heap(heap)
        out = []
        for record in self.btree2_records(name_index, 8):
            obj = fh.get(record[:8])
            out.append(self.attribute(obj, self.base + heap))
        return out

    # --- heaps and v2 B-trees --------------------------------------------------------------
    def global_object(self, collection, index):
        objects = self._collections.get(collection)
        if objects is None:
            c = self.cursor(collection, 16)
            c.signature(b"GCOL")
            c.skip(4)
            size = c.length()
            data = self.read(collection, size)
            objects = {}
            pos = 8 + self.length_size
            while pos + 8 + self.length_size <= len(data):
                idx = _uint(data, pos, 2)
                if idx == 0:
                    break
                n = _uint(data, pos + 8, self.length_size)
                start = pos + 8 + self.length_size
                if start + n > len(data):
                    raise self.error("global heap object runs past its collection",
                                     self.base + collection + pos)
                objects[idx] = data[start:start + n]
                pos = start + (n + 7) // 8 * 8
            self._collections[collection] = objects
        obj = objects.get(index)
        if obj is None:
            raise self.error(f"global heap object {index} not found", self.base + collection)
        return obj

    def fractal_heap(self, address):
        fh = self._heaps.get(address)
        if fh is None:
            fh = self._heaps[address] = _FractalHeap(self, address)
        return fh

    def btree2_records(self, address, expect_type=None):
        """All records of a v2 B-tree, in key order, as raw bytes."""
        c = self.cursor(address, 64)
        c.signature(b"BTHD")
        c.u8()
        btype = c.u8()
        node_size, rec_size, depth = c.u32(), c.u16(), c.u16()
        c.skip(2)
        root, root_n = c.addr(), c.u16()
        if expect_type is not None and btype != expect_type:
            raise self.error(f"v2 B-tree of type {btype} where type {expect_type} was expected",
                             self.base + address)
        if depth > MAX_TREE_DEPTH or rec_size == 0 or node_size < 16 or node_size > (1 << 24):
            raise self.error("bad v2 B-tree header", self.base + address)
        if root is None:
            return []
        # Field widths of child pointers, as H5B2__hdr_init computes them.
        leaf_max = (node_size - 10) // rec_size
        if leaf_max < 1:
            raise self.error("v2 B-tree nodes too small for their records", self.base + address)
        nrec_size = _limit_enc_size(leaf_max)
        cum_max, cum_size = [leaf_max], [0]
        for d in range(1, depth + 1):
            ptr = self.offset_size + nrec_size + cum_size[d - 1]
            max_n = max(1, (node_size - (10 + ptr)) // (rec_size + ptr))
            cum_max.append((max_n + 1) * cum_max[d - 1] + max_n)
            cum_size.append(_limit_enc_size(cum_max[d]))
        out = []
        visited = 0
        # In-order traversal with an explicit stack: items are node tuples or records.
        stack = [("node", root, root_n, depth)]
        while stack:
            item = stack.pop()
            if item[0] == "rec":
                out.append(item[1])
                continue
            _, addr, n, d = item
            visited += 1
            if visited > MAX_TREE_NODES or addr is None:
                raise self.error("v2 B-tree is cyclic or too large", self.base + address)
            ptr = self.offset_size + nrec_size + (cum_size[d - 1] if d > 1 else 0)
            c = self.cursor(addr, 6 + n * rec_size + (n + 1) * ptr * (d > 0))
            c.signature(b"BTIN" if d else b"BTLF")
            c.skip(2)
            records = [c.take(rec_size) for _ in range(n)]
            if d == 0:
                out.extend(records)
                continue
            children = []
            for _ in range(n + 1):
                child = c.addr()
                cn = c.uint(nrec_size)
                if d > 1:
                    c.skip(cum_size[d - 1])
                children.append((child, cn))
            items = []
            for i in range(n + 1):
                items.append(("node", children[i][0], children[i][1], d - 1))
                if i < n:
                    items.append(("rec", records[i]))
            stack.extend(reversed(items))
            if len(out) > MAX_TREE_NODES:
                raise self.error("v2 B-tree has too many records", self.base + address)
        return out

    # --- dataset values ----------------------------------------------------------------------
    def dataset_bytes(self, ds, n):
        """Raw bytes of the first n elements of a dataset, in row-major order."""
        dtype, lay, size = ds.dtype, ds.layout, ds.dtype.size
        nbytes = n * size
        if lay["class"] == "compact":
            if len(lay["data"]) < nbytes:
                raise self.error(f"dataset '{ds.path}': compact data holds {len(lay['data'])} "
                                 f"bytes, {nbytes} needed", lay["at"])
            return lay["data"][:nbytes]
        if lay["class"] == "contiguous":
            if ds.filters:
                raise self.error(f"dataset '{ds.path}': filters on contiguous storage")
            if lay["address"] is None:
                return bytes(nbytes)      # never written: the fill value (zero)
            if nbytes > lay["size"]:
                raise self.error(f"dataset '{ds.path}': {lay['size']} bytes stored, "
                                 f"{nbytes} needed", self.base + lay["address"])
            start = self.base + lay["address"]
            if start + nbytes > self.source.size:
                raise self.error(f"dataset '{ds.path}': data lies beyond the end of the file",
                                 start)
            return self.source.read(start, nbytes)
        if lay["class"] == "chunked":
            return self._chunked_bytes(ds, n)
        raise self.error(f"dataset '{ds.path}': {lay['class']} storage is not supported")

    def _chunked_bytes(self, ds, n):
        shape, lay, size = ds.shape, ds.layout, ds.dtype.size
        chunk = lay["chunk"]
        rank = len(shape)
        if len(chunk) != rank:
            raise self.error(f"dataset '{ds.path}': chunk rank {len(chunk)} for a "
                             f"dataspace of rank {rank}", ds.address)
        strides = [math.prod(shape[i + 1:]) for i in range(rank)]
        out = bytearray(n * size)
        chunk_bytes = math.prod(chunk) * size
        if chunk_bytes > MAX_CHUNK_BYTES:
            raise self.error(f"dataset '{ds.path}': chunks of {chunk_bytes} bytes (at most "
                             f"{MAX_CHUNK_BYTES})", self.base + ds.address)
        for offsets, address, stored, mask in self._chunk_index(ds, chunk, shape, n, strides):
            if address is None:
                continue
            if len(offsets) != rank or any(o >= d for o, d in zip(offsets, shape)):
                continue
            if sum(o * s for o, s in zip(offsets, strides)) >= n:
                continue
            raw = self.read_raw(address, stored)
            data = self._unfilter(ds, raw, mask, chunk_bytes, address)
            if len(data) < chunk_bytes:
                raise self.error(f"dataset '{ds.path}': chunk holds {len(data)} bytes, "
                                 f"{chunk_bytes} expected", self.base + address)
            _copy_chunk(out, data, offsets, chunk, shape, strides, size, n)
        return bytes(out)

    def read_raw(self, address, length):
        start = self.base + address
        if length < 0 or start + length > self.source.size:
            raise self.error(f"{length} bytes at address {address} lie beyond the end of "
                             "the file", start)
        return self.source.read(start, length)

    def _chunk_index(self, ds, chunk, shape, n, strides):
        """(offsets, address, stored size, filter mask) for each stored chunk."""
        lay = ds.layout
        size = ds.dtype.size
        chunk_bytes = math.prod(chunk) * size
        index, address = lay["index"], lay["address"]
        if address is None:
            return []
        rank = len(shape)
        if index == "btree1":
            out = []
            for key, child in self._btree1_children(address, 1, rank):
                stored, mask = _uint(key, 0, 4), _uint(key, 4, 4)
                offsets = tuple(_uint(key, 8 + 8 * i, 8) for i in range(rank))
                out.append((offsets, child, stored, mask))
            return out
        if index == "single":
            return [((0,) * rank, address, lay.get("filtered_size", chunk_bytes),
                     lay.get("filter_mask", 0))]
        grid = [-(-d // c) for d, c in zip(shape, chunk)]
        nchunks = math.prod(grid)
        if index == "implicit":
            if nchunks * chunk_bytes > self.source.size:
                raise self.error(f"dataset '{ds.path}': {nchunks} chunks do not fit in the file")
            return [(_unravel(i, grid, chunk), address + i * chunk_bytes, chunk_bytes, 0)
                    for i in range(nchunks)]
        if index == "farray":
            entries = self._fixed_array(address, bool(ds.filters))
            return [(_unravel(i, grid, chunk), a, s if s is not None else chunk_bytes, m)
                    for i, (a, s, m) in enumerate(entries[:nchunks])]
        if index == "btree2":
            out = []
            for rec in self.btree2_records(address):
                c = _Cursor(self, rec, self.base + address)
                child = c.addr()
                if ds.filters:    # filtered records: chunk size, filter mask, offsets
                    stored = c.uint(len(rec) - self.offset_size - 4 - 8 * rank)
                    mask = c.u32()
                else:
                    stored, mask = chunk_bytes, 0
                scaled = [c.uint(8) for _ in range(rank)]
                out.append((tuple(s * k for s, k in zip(scaled, chunk)), child, stored, mask))
            return out
        raise self.error(f"dataset '{ds.path}': chunk index '{index}' (extensible array, "
                         "from datasets resizable along one axis) is not supported")

    def _fixed_array(self, address, filtered):
        c = self.cursor(address, 64)
        c.signature(b"FAHD")
        c.skip(1)
        client, entry_size, page_bits = c.u8(), c.u8(), c.u8()
        count = c.length()
        block = c.addr()
        if block is None:
            return []
        if count > MAX_TREE_NODES * 16:
            raise self.error(f"fixed array of {count} chunks", self.base + address)
        page = 1 << page_bits
        prefix = 4 + 2 + self.offset_size
        entries = []

        def parse(data, at, k):
            ec = _Cursor(self, data, at)
            for _ in range(k):
                a = ec.addr()
                if client == 1:
                    s = ec.uint(entry_size - self.offset_size - 4)
                    m = ec.u32()
                    entries.append((a, s, m))
                else:
                    ec.skip(entry_size - self.offset_size)
                    entries.append((a, None, 0))

        hc = self.cursor(block, prefix)
        hc.signature(b"FADB")
        if count <= page:
            parse(self.read(block + prefix, count * entry_size), self.base + block + prefix, count)
        else:
            npages = -(-count // page)
            at = block + prefix + (npages + 7) // 8 + 4
            for p in range(npages):
                k = min(page, count - p * page)
                parse(self.read(at, k * entry_size), self.base + at, k)
                at += k * entry_size + 4
        return entries

    def _unfilter(self, ds, data, mask, expected, address):
        for i, (fid, name, flags, cd) in reversed(list(enumerate(ds.filters))):
            if mask & (1 << i):
                continue
            if fid == 1:
                try:
                    d = zlib.decompressobj()
                    data = d.decompress(data, expected)
                except zlib.error as e:
                    raise self.error(f"dataset '{ds.path}': corrupt deflate chunk ({e})",
                                     self.base + address) from None
            elif fid == 2:
                data = _unshuffle(data, cd[0] if cd else ds.dtype.size)
            elif fid == 3:
                data = data[:-4]
            elif fid == 32000:
                data = _lzf_decompress(self, data, max(expected, cd[2] if len(cd) > 2 else 0),
                                       self.base + address)
            else:
                raise self.error(f"dataset '{ds.path}': the '{name}' filter is not supported")
        return data


class Attribute:
    __slots__ = ("file", "name", "dtype", "shape", "_data", "_pos", "at")

    def __init__(self, f, name, dtype, shape, data, pos, at):
        self.file, self.name, self.dtype, self.shape = f, name, dtype, shape
        self._data, self._pos, self.at = data, pos, at

    @property
    def value(self):
        if self.shape == ("null",):
            return None
        n = math.prod(self.shape)
        raw = self._data[self._pos:self._pos + n * self.dtype.size]
        values = self.dtype.decode(self.file, raw, n)
        return values[0] if self.shape == () else values


class _FractalHeap:
    """A fractal heap (new-style group links, dense attributes): objects by heap ID."""

    def __init__(self, f, address):
        self.f = f
        c = f.cursor(address, 256)
        c.signature(b"FRHP")
        c.u8()
        self.id_len, filter_len, self.flags = c.u16(), c.u16(), c.u8()
        self.max_managed = c.u32()
        c.length()
        self.huge_btree = c.addr()
        c.length()
        c.addr()
        for _ in range(8):
            c.length()
        self.width = c.u16()
        self.start_size, self.max_direct = c.length(), c.length()
        self.max_heap_bits = c.u16()
        c.u16()
        self.root, self.root_rows = c.addr(), c.u16()
        if filter_len:
            raise f.error("filtered fractal heaps are not supported", f.base + address)
        if (self.width == 0 or self.width & (self.width - 1) or self.start_size == 0
                or self.start_size & (self.start_size - 1) or self.max_direct < self.start_size
                or self.max_direct & (self.max_direct - 1) or not 0 < self.max_heap_bits <= 64):
            raise f.error("bad fractal heap header", f.base + address)
        self.off_size = (self.max_heap_bits + 7) // 8
        self.len_size = min((self.max_direct.bit_length() - 1 + 7) // 8,
                            _limit_enc_size(self.max_managed))
        self.first_row_bits = (self.start_size * self.width).bit_length() - 1
        self.max_direct_rows = (self.max_direct.bit_length() - self.start_size.bit_length()) + 2
        self.address = address

    def row_size(self, row):
        return self.start_size if row == 0 else self.start_size << (row - 1)

    def row_offset(self, row):
        return 0 if row == 0 else (self.start_size * self.width) << (row - 1)

    def get(self, heap_id):
        f = self.f
        if not heap_id:
            raise f.error("empty fractal heap ID")
        kind = (heap_id[0] >> 4) & 3
        if kind == 2:      # tiny: stored in the ID itself
            if self.id_len <= 18:
                n = (heap_id[0] & 0x0F) + 1
                return heap_id[1:1 + n]
            n = (((heap_id[0] & 0x0F) << 8) | heap_id[1]) + 1
            return heap_id[2:2 + n]
        if kind == 1:
            return self._huge(heap_id)
        if kind != 0:
            raise f.error("bad fractal heap ID", f.base + self.address)
        c = _Cursor(f, heap_id, 0, 1)
        offset, length = c.uint(self.off_size), c.uint(self.len_size)
        block, start, size = self._locate(offset)
        if offset - start + length > size:
            raise f.error("fractal heap object runs past its block", f.base + block)
        return f.read(block + offset - start, length)

    def _locate(self, offset):
        """(address, heap offset of its start, size) of the direct block holding offset."""
        f = self.f
        if self.root is None:
            raise f.error("empty fractal heap", f.base + self.address)
        if self.root_rows == 0:
            return self.root, 0, self.start_size
        iblock, nrows, base = self.root, self.root_rows, 0
        for _ in range(MAX_TREE_DEPTH):
            rel = offset - base
            if rel < self.start_size * self.width:
                row, col = 0, rel // self.start_size
            else:
                high = rel.bit_length() - 1
                row = high - self.first_row_bits + 1
                col = (rel - (1 << high)) // self.row_size(row)
            if row >= nrows or rel < 0:
                raise f.error("fractal heap offset outside its blocks", f.base + iblock)
            ndirect = min(nrows, self.max_direct_rows) * self.width
            head = 4 + 1 + f.offset_size + self.off_size
            index = row * self.width + col
            if row < self.max_direct_rows:
                c = f.cursor(iblock + head + index * f.offset_size, f.offset_size)
            else:
                c = f.cursor(iblock + head + ndirect * f.offset_size
                             + (index - ndirect) * f.offset_size, f.offset_size)
            sig = f.cursor(iblock, 4)
            sig.signature(b"FHIB")
            child = c.addr()
            if child is None:
                raise f.error("fractal heap object in an unallocated block", f.base + iblock)
            block_start = base + self.row_offset(row) + col * self.row_size(row)
            if row < self.max_direct_rows:
                return child, block_start, self.row_size(row)
            nrows = (self.row_size(row).bit_length() - 1) - self.first_row_bits + 1
            iblock, base = child, block_start
        raise f.error("fractal heap nested too deeply", f.base + self.address)

    def _huge(self, heap_id):
        f = self.f
        c = _Cursor(f, heap_id, 0, 1)
        if self.id_len - 1 >= f.offset_size + f.length_size:   # the ID holds the address
            address, length = c.addr(), c.length()
            return f.read(address, length)
        key = c.uint(min(self.id_len - 1, f.length_size))
        if self.huge_btree is None:
            raise f.error("huge fractal heap object without an index", f.base + self.address)
        for rec in f.btree2_records(self.huge_btree, 1):
            rc = _Cursor(f, rec, 0)
            address, length, rid = rc.addr(), rc.length(), rc.length()
            if rid == key:
                return f.read(address, length)
        raise f.error(f"huge fractal heap object {key} not found", f.base + self.address)


def _unravel(i, grid, chunk):
    out = []
    for g, c in zip(reversed(grid), reversed(chunk)):
        out.append((i % g) * c)
        i //= g
    return tuple(reversed(out))


def _copy_chunk(out, data, offsets, chunk, shape, strides, size, n):
    """Copy the part of one chunk that falls in the first n elements into `out`."""
    rank = len(shape)
    extent = [min(c, d - o) for c, d, o in zip(chunk, shape, offsets)]
    cstrides = [math.prod(chunk[i + 1:]) for i in range(rank)]
    run = extent[-1]
    for k in itertools.product(*(range(e) for e in extent[:-1])):
        dest = sum((o + j) * s for o, j, s in zip(offsets, k, strides)) + offsets[-1]
        if dest >= n:
            break
        src = sum(j * s for j, s in zip(k, cstrides))
        m = min(run, n - dest)
        out[dest * size:(dest + m) * size] = data[src * size:(src + m) * size]


def _unshuffle(data, esize):
    if esize <= 1 or len(data) < esize:
        return data
    count = len(data) // esize
    out = bytearray(data)
    for j in range(esize):
        out[j:count * esize:esize] = data[j * count:(j + 1) * count]
    return bytes(out)


def _lzf_decompress(f, data, limit, at):
    """LZF (h5py's 'lzf' filter) decompression, stopping at `limit` bytes."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n and len(out) < limit:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n:
                raise f.error("corrupt lzf chunk", at)
            out += data[i:i + run]
            i += run
        else:
            length = ctrl >> 5
            if length == 7:
                if i >= n:
                    raise f.error("corrupt lzf chunk", at)
                length += data[i]
                i += 1
            if i >= n:
                raise f.error("corrupt lzf chunk", at)
            ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
            i += 1
            if ref < 0:
                raise f.error("corrupt lzf chunk", at)
            for _ in range(length + 2):
                out.append(out[ref])
                ref += 1
    return bytes(out)
