"""Protocol-buffers wire format over a byte source, lazily.

`Reader.fields(start, end)` walks one message. Small messages are parsed from one
in-memory window; big ones (graphs, weight tensors) are walked header by header, so
a length-delimited payload such as raw weights is skipped by offset and never read.
"""
from .errors import ModelError

# Window sizes: one JS read in the browser costs ~0.6 ms, so sequential reading grows
# the window; a jump (past skipped weights) starts small again, since what follows a
# jump is usually one tensor header.
READAHEAD_MIN = 16 << 10
READAHEAD = 256 << 10
IN_MEMORY = 64 << 10    # messages up to this size are parsed from memory


class Reader:
    def __init__(self, source, format="ONNX"):
        self.source = source
        self.size = source.size
        self.format = format
        self.buf = b""
        self.start = self.end = 0   # the window: file bytes [start, end) are in buf
        self.readahead = READAHEAD_MIN
        if hasattr(source, "data"):  # in-memory source: one window holds everything
            self.buf = source.data
            self.end = len(self.buf)

    def error(self, message, offset=None):
        return ModelError(message, self.source.name, self.format, offset)

    def view(self, offset, length):
        """(buf, base) such that buf[offset-base:offset-base+length] are the bytes."""
        s = self.start
        if offset >= s and offset + length <= self.end:
            return self.buf, s
        if offset + length > self.size:
            raise self.error(f"truncated: {length} bytes needed at byte {offset}, "
                             f"file has {self.size}", offset)
        # sequential: starts in the window or a little past it (past a node body that
        # crossed the window's end and was skipped, not read); a jump is past weights
        if s <= offset < self.end + READAHEAD_MIN:
            self.readahead = min(self.readahead * 2, READAHEAD)
        else:
            self.readahead = READAHEAD_MIN
        n = max(length, min(self.readahead, self.size - offset))
        self.buf = self.source.read(offset, n)
        self.start, self.end = offset, offset + n
        return self.buf, offset

    def bytes(self, offset, length):
        buf, base = self.view(offset, length)
        o = offset - base
        return buf[o:o + length]

    def string(self, offset, length):
        o = offset - self.start  # fast path: inside the current window (names in nodes)
        if o >= 0 and offset + length <= self.end:
            return self.buf[o:o + length].decode("utf-8", "replace")
        return self.bytes(offset, length).decode("utf-8", "replace")

    def fields(self, start, end):
        """Yield (field, wire, a, b) for each field of the message in [start, end):
        varint/fixed: a = value; length-delimited: a = absolute offset, b = length."""
        if end - start <= IN_MEMORY:
            buf, base = self.view(start, end - start)
            return _memory_fields(self, buf, start - base, end - base, base)
        return self._stream_fields(start, end)

    def _stream_fields(self, pos, end):
        # Headers are decoded straight from the current window while a whole header
        # (at most 22 bytes: tag and length varints) fits in it; payloads past the
        # window are skipped by offset, and the next header starts a new window.
        while pos < end:
            buf, base = self.view(pos, min(22, end - pos))
            p = pos - base
            stop = min(len(buf), end - base)
            safe = stop if base + stop == end else max(p + 1, stop - 22)
            p = yield from _memory_fields(self, buf, p, end - base, base, safe)
            pos = base + p

    # --- repeated scalars, packed or not -------------------------------------
    def packed_varints(self, offset, length, limit=None):
        buf, base = self.view(offset, length)
        p, end = offset - base, offset - base + length
        out = []
        while p < end:
            if limit is not None and len(out) >= limit:
                break
            v, p = varint(self, buf, p, end, base)
            out.append(v)
        return out


def _memory_fields(r, buf, p, end, base, safe=None):
    """The fields of a message ending at buf[end] (relative to base) from buf[p:].
    Streaming, buf is a window that may stop short of end: decoding then stops at the
    first field starting at or past `safe` (a whole header fits before it), and the
    generator returns where, for the next window. Payloads may run past the window."""
    stop = min(end, len(buf))   # headers lie before this
    if safe is None:
        safe = end
    while p < safe:
        tag = buf[p]
        if tag < 0x80:
            p += 1
        else:
            tag, p = varint(r, buf, p, stop, base)
        if tag < 8:
            raise _field_zero(r, base + p)
        wire = tag & 7
        if wire == 2:
            n = buf[p] if p < stop else 0x80
            if n < 0x80:
                p += 1
            else:
                n, p = varint(r, buf, p, stop, base)
            if p + n > end:
                raise r.error(f"truncated: field {tag >> 3} needs {n} bytes, {end - p} left",
                              base + p)
            yield tag >> 3, 2, base + p, n
            p += n
        else:
            value, p = _scalar(r, buf, p, stop, base, wire, tag)
            yield tag >> 3, wire, value, 0
    return p


def _field_zero(r, offset):
    # Field number 0 is invalid; it is what zero-filled bytes (a hole, a corrupted or
    # truncated copy) look like, which would otherwise walk as 2-byte fields for minutes.
    return r.error("invalid field number 0 (zero bytes where a message was expected: "
                   "not a protobuf message, or corrupted)", offset)


def varint_at(data, p):
    """A varint in bytes `data` at `p` (a file's head, for a format's match(); a small
    record already read): (value, position after it), or (None, len(data)) when `data`
    ends inside it or it runs past 10 bytes. Never raises (match() must not)."""
    v = shift = 0
    while p < len(data) and shift < 64:
        b = data[p]
        p += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, p
        shift += 7
    return None, len(data)


def varint(r, buf, p, end, base):
    result = shift = 0
    while True:
        if p >= end:
            raise r.error("truncated varint", base + p)
        b = buf[p]
        p += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, p
        shift += 7
        if shift >= 70:
            raise r.error("malformed varint (more than 10 bytes)", base + p)


def _scalar(r, buf, p, end, base, wire, tag):
    if wire == 0:
        return varint(r, buf, p, end, base)
    if wire == 5:
        if p + 4 > end:
            raise r.error("truncated fixed32", base + p)
        return int.from_bytes(buf[p:p + 4], "little"), p + 4
    if wire == 1:
        if p + 8 > end:
            raise r.error("truncated fixed64", base + p)
        return int.from_bytes(buf[p:p + 8], "little"), p + 8
    raise r.error(f"invalid wire type {wire} for field {tag >> 3} "
                  "(not a protobuf message, or corrupted)", base + p)


def signed64(v):
    """int64 varints are two's complement in 64 bits."""
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= 1 << 63 else v


def signed32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v
