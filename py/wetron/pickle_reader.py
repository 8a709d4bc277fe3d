"""A restricted reader of Python pickles that never runs anything from the file.

This is an interpreter of the pickle opcodes on the standard library: it imports
nothing and calls nothing that the file names. Plain data (dict, list, tuple, str,
bytes, int, float, bool, None, set) is rebuilt as Python values; every global the file
names stays a `Global` (its dotted name), and every call or instantiation of one
becomes an `Obj` placeholder recording the name, the arguments and the state given to
it. A caller may pass `rebuild(name, args)` to turn known constructors (such as torch's
tensor rebuilders) into records of its own, and `persistent_load(pid)` for references
to data outside the pickle (torch storages), and `build(target, state)` to handle a
BUILD itself (joblib's array wrappers, whose bytes follow in the stream): a value it
returns replaces the target.

Memo size, stack depth, container nesting and the number of objects are bounded.
"""
import codecs
import struct

from .errors import ModelError

MAX_MEMO = 2_000_000
MAX_STACK = 1_000_000
MAX_MARKS = 10_000          # nesting of MARK-delimited containers
MAX_OBJECTS = 20_000_000
WINDOW = 1 << 20


class Global:
    """A name the pickle refers to (a class or function); never resolved."""
    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    @property
    def full(self):
        return f"{self.module}.{self.name}" if self.module else self.name

    def __repr__(self):
        return self.full


class Obj:
    """A placeholder for an object the pickle builds by calling `cls` (a Global or
    another value): what it was called with and the state given to it."""
    __slots__ = ("cls", "args", "kwargs", "state", "items", "__weakref__")

    def __init__(self, cls, args=(), kwargs=None):
        self.cls, self.args, self.kwargs = cls, args, kwargs
        self.state = None
        self.items = None        # list items or dict items appended to it

    @property
    def name(self):
        return self.cls.full if isinstance(self.cls, Global) else repr(self.cls)

    def to_dict(self):
        d = {"__class__": self.name, "args": list(self.args)}
        if self.kwargs:
            d["kwargs"] = self.kwargs
        if self.state is not None:
            d["state"] = self.state
        return d

    def __repr__(self):
        return f"<{self.name}>"


class PickledDict(dict):
    """A dict (OrderedDict, defaultdict …) that may carry pickled attributes."""
    __slots__ = ("state", "__weakref__")

    def __init__(self, *a):
        super().__init__(*a)
        self.state = None


class Input:
    """Sequential reads over a Source, windowed: pickles inside larger files (legacy
    torch.save) are read without loading what follows them."""

    def __init__(self, source, start=0, end=None):
        self.source = source
        self.pos = start
        self.end = source.size if end is None else end
        self.buf, self.base = b"", start

    def read(self, n):
        o = self.pos - self.base
        if o + n <= len(self.buf):
            self.pos += n
            return self.buf[o:o + n]
        if n < 0 or self.pos + n > self.end:
            raise EOFError
        self.base = self.pos
        self.buf = self.source.read(self.pos, min(max(n, WINDOW), self.end - self.pos))
        self.pos += n
        return self.buf[:n]

    def readline(self):
        out = b""
        while True:
            o = self.pos - self.base
            i = self.buf.find(b"\n", o)
            if i >= 0:
                self.pos = self.base + i + 1
                return out + self.buf[o:i + 1]
            out += self.buf[o:]
            self.pos = self.base + len(self.buf)
            if len(out) > (1 << 20) or self.pos >= self.end:
                raise EOFError
            self.base = self.pos
            self.buf = self.source.read(self.pos, min(WINDOW, self.end - self.pos))


def _simple(v):
    return isinstance(v, (str, bytes, int, float, bool, type(None), Global, Obj))


def _builtin(name, args):
    """Calls of harmless standard constructors, evaluated on data alone."""
    if name in ("collections.OrderedDict", "builtins.dict", "__builtin__.dict",
                "collections.defaultdict"):
        d = PickledDict()
        if name != "collections.defaultdict" and args and isinstance(args[0], (list, tuple)):
            pairs = args[0]
            if not all(isinstance(p, (list, tuple)) and len(p) == 2 and _simple(p[0])
                       for p in pairs):
                return None
            d.update(pairs)
        return d
    if name in ("builtins.list", "__builtin__.list") and len(args) <= 1:
        return list(args[0]) if args and isinstance(args[0], (list, tuple)) else []
    if name in ("builtins.tuple", "__builtin__.tuple") and len(args) <= 1:
        return tuple(args[0]) if args and isinstance(args[0], (list, tuple)) else ()
    if name in ("builtins.set", "__builtin__.set", "builtins.frozenset",
                "__builtin__.frozenset") and len(args) <= 1:
        if not args:
            return set()
        if isinstance(args[0], (list, tuple, set)) and all(_simple(x) for x in args[0]):
            return set(args[0])
        return None
    if name in ("builtins.bytearray", "__builtin__.bytearray") and len(args) <= 2 \
            and (not args or isinstance(args[0], (bytes, str))):
        if not args:
            return b""
        return args[0] if isinstance(args[0], bytes) else args[0].encode("latin-1", "replace")
    if name in ("_codecs.encode",) and len(args) == 2 and isinstance(args[0], str) \
            and args[1] in ("latin1", "latin-1"):   # protocol 2's way of pickling bytes
        return args[0].encode("latin-1", "replace")
    if name in ("builtins.complex", "__builtin__.complex") and len(args) == 2 \
            and all(isinstance(a, (int, float)) for a in args):
        return complex(*args)
    return None


def load(inp, persistent_load=None, rebuild=None, error=None, build=None):
    """Interpret one pickle from `inp` (an Input) up to its STOP; return the value.
    `error(message, offset)` builds the exception to raise (ModelError by default)."""
    if error is None:
        def error(message, offset=None):
            return ModelError(message, offset=offset)
    try:
        return _run(inp, persistent_load, rebuild, error, build)
    except EOFError:
        raise error("pickle ends before its STOP opcode", inp.pos) from None
    except (TypeError, ValueError, OverflowError, struct.error, IndexError, KeyError,
            UnicodeError, AttributeError) as e:
        raise error(f"malformed pickle ({type(e).__name__}: {e})", inp.pos) from None


def _run(inp, persistent_load, rebuild, error, build):
    read, readline = inp.read, inp.readline
    stack, marks, memo = [], [], {}
    objects = 0
    unpack = struct.unpack

    def pop_mark():
        nonlocal stack
        if not marks:
            raise error("pickle pops a MARK it never set", inp.pos)
        items = stack
        stack = marks.pop()
        return items

    def call(func, args, kwargs=None):
        name = func.full if isinstance(func, Global) else None
        if name is not None:
            if not kwargs:
                v = _builtin(name, args)
                if v is not None:
                    return v
            if rebuild is not None:
                v = rebuild(name, args if not kwargs else (args, kwargs))
                if v is not None:
                    return v
        return Obj(func, tuple(args), kwargs)

    while True:
        op = read(1)
        if not op:
            raise EOFError
        c = op[0]
        objects += 1
        if objects > MAX_OBJECTS:
            raise error(f"more than {MAX_OBJECTS} pickle operations", inp.pos)
        if len(stack) > MAX_STACK:
            raise error(f"pickle stack deeper than {MAX_STACK}", inp.pos)
        # -- framing and protocol
        if c == 0x80:                                   # PROTO
            read(1)
        elif c == 0x95:                                 # FRAME
            read(8)
        elif c == 0x2E:                                 # STOP
            if not stack:
                raise error("pickle stops with an empty stack", inp.pos)
            return stack[-1]
        # -- marks and stack
        elif c == 0x28:                                 # MARK
            if len(marks) >= MAX_MARKS:
                raise error(f"pickle nests deeper than {MAX_MARKS} marks", inp.pos)
            marks.append(stack)
            stack = []
        elif c == 0x30:                                 # POP
            if stack:
                stack.pop()
            else:
                pop_mark()
        elif c == 0x31:                                 # POP_MARK
            pop_mark()
        elif c == 0x32:                                 # DUP
            stack.append(stack[-1])
        # -- constants
        elif c == 0x4E:                                 # NONE
            stack.append(None)
        elif c == 0x88:                                 # NEWTRUE
            stack.append(True)
        elif c == 0x89:                                 # NEWFALSE
            stack.append(False)
        elif c == 0x4B:                                 # BININT1
            stack.append(read(1)[0])
        elif c == 0x4D:                                 # BININT2
            stack.append(unpack("<H", read(2))[0])
        elif c == 0x4A:                                 # BININT
            stack.append(unpack("<i", read(4))[0])
        elif c == 0x49:                                 # INT (text; 00/01 are bools)
            text = readline()[:-1]
            stack.append(True if text == b"01" else False if text == b"00" else int(text))
        elif c == 0x4C:                                 # LONG (text)
            text = readline()[:-1].rstrip(b"L")
            stack.append(int(text))
        elif c == 0x8A:                                 # LONG1
            n = read(1)[0]
            stack.append(int.from_bytes(read(n), "little", signed=True))
        elif c == 0x8B:                                 # LONG4
            n = unpack("<i", read(4))[0]
            if n < 0 or n > (1 << 20):
                raise error(f"LONG4 of {n} bytes", inp.pos)
            stack.append(int.from_bytes(read(n), "little", signed=True))
        elif c == 0x47:                                 # BINFLOAT
            stack.append(unpack(">d", read(8))[0])
        elif c == 0x46:                                 # FLOAT (text)
            stack.append(float(readline()[:-1]))
        # -- strings and bytes
        elif c == 0x58:                                 # BINUNICODE
            n = unpack("<I", read(4))[0]
            stack.append(str(read(n), "utf-8", "surrogatepass"))
        elif c == 0x8C:                                 # SHORT_BINUNICODE
            n = read(1)[0]
            stack.append(str(read(n), "utf-8", "surrogatepass"))
        elif c == 0x8D:                                 # BINUNICODE8
            n = unpack("<Q", read(8))[0]
            stack.append(str(read(n), "utf-8", "surrogatepass"))
        elif c == 0x56:                                 # UNICODE (raw-unicode-escape)
            stack.append(str(readline()[:-1], "raw-unicode-escape"))
        elif c == 0x53:                                 # STRING (quoted repr)
            text = readline()[:-1]
            if len(text) < 2 or text[0] != text[-1] or text[:1] not in (b"'", b'"'):
                raise error("STRING opcode argument is not quoted", inp.pos)
            stack.append(codecs.escape_decode(text[1:-1])[0].decode("latin-1"))
        elif c == 0x54:                                 # BINSTRING
            n = unpack("<i", read(4))[0]
            if n < 0:
                raise error("negative BINSTRING length", inp.pos)
            stack.append(read(n).decode("latin-1"))
        elif c == 0x55:                                 # SHORT_BINSTRING
            stack.append(read(read(1)[0]).decode("latin-1"))
        elif c == 0x42:                                 # BINBYTES
            stack.append(bytes(read(unpack("<I", read(4))[0])))
        elif c == 0x43:                                 # SHORT_BINBYTES
            stack.append(bytes(read(read(1)[0])))
        elif c == 0x8E:                                 # BINBYTES8
            stack.append(bytes(read(unpack("<Q", read(8))[0])))
        elif c == 0x96:                                 # BYTEARRAY8
            stack.append(bytes(read(unpack("<Q", read(8))[0])))
        elif c in (0x97, 0x98):                         # NEXT_BUFFER / READONLY_BUFFER
            if c == 0x97:
                stack.append(Obj(Global("pickle", "PickleBuffer")))
        # -- containers
        elif c == 0x29:                                 # EMPTY_TUPLE
            stack.append(())
        elif c == 0x85:                                 # TUPLE1
            stack[-1] = (stack[-1],)
        elif c == 0x86:                                 # TUPLE2
            stack[-2:] = [(stack[-2], stack[-1])]
        elif c == 0x87:                                 # TUPLE3
            stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
        elif c == 0x74:                                 # TUPLE
            items = pop_mark()
            stack.append(tuple(items))
        elif c == 0x5D:                                 # EMPTY_LIST
            stack.append([])
        elif c == 0x6C:                                 # LIST
            items = pop_mark()   # (pop_mark rebinds `stack`: take the items first)
            stack.append(items)
        elif c == 0x7D:                                 # EMPTY_DICT
            stack.append({})
        elif c == 0x64:                                 # DICT
            items = pop_mark()
            _check_keys(items[0::2], error, inp)
            stack.append({items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)})
        elif c == 0x8F:                                 # EMPTY_SET
            stack.append(set())
        elif c == 0x91:                                 # FROZENSET
            items = pop_mark()
            _check_keys(items, error, inp)
            stack.append(frozenset(items))
        elif c == 0x61:                                 # APPEND
            v = stack.pop()
            _extend(stack[-1], [v], error, inp)
        elif c == 0x65:                                 # APPENDS
            items = pop_mark()
            _extend(stack[-1], items, error, inp)
        elif c == 0x90:                                 # ADDITEMS
            items = pop_mark()
            target = stack[-1]
            if isinstance(target, set):
                _check_keys(items, error, inp)
                target.update(items)
            else:
                _extend(target, items, error, inp)
        elif c == 0x73:                                 # SETITEM
            v = stack.pop()
            k = stack.pop()
            _setitems(stack[-1], [k, v], error, inp)
        elif c == 0x75:                                 # SETITEMS
            items = pop_mark()
            _setitems(stack[-1], items, error, inp)
        # -- memo
        elif c == 0x71:                                 # BINPUT
            _put(memo, read(1)[0], stack, error, inp)
        elif c == 0x72:                                 # LONG_BINPUT
            _put(memo, unpack("<I", read(4))[0], stack, error, inp)
        elif c == 0x70:                                 # PUT
            _put(memo, int(readline()[:-1]), stack, error, inp)
        elif c == 0x94:                                 # MEMOIZE
            _put(memo, len(memo), stack, error, inp)
        elif c == 0x68:                                 # BINGET
            stack.append(_get(memo, read(1)[0], error, inp))
        elif c == 0x6A:                                 # LONG_BINGET
            stack.append(_get(memo, unpack("<I", read(4))[0], error, inp))
        elif c == 0x67:                                 # GET
            stack.append(_get(memo, int(readline()[:-1]), error, inp))
        # -- names and calls: recorded, never resolved
        elif c == 0x63:                                 # GLOBAL
            module = readline()[:-1].decode("utf-8", "replace")
            name = readline()[:-1].decode("utf-8", "replace")
            stack.append(Global(module, name))
        elif c == 0x93:                                 # STACK_GLOBAL
            name = stack.pop()
            module = stack.pop()
            if not isinstance(module, str) or not isinstance(name, str):
                raise error("STACK_GLOBAL needs two strings", inp.pos)
            stack.append(Global(module, name))
        elif c in (0x82, 0x83, 0x84):                   # EXT1/2/4: copyreg registry codes
            n = read({0x82: 1, 0x83: 2, 0x84: 4}[c])
            stack.append(Global("copyreg.extension", str(int.from_bytes(n, "little"))))
        elif c == 0x52:                                 # REDUCE
            args = stack.pop()
            func = stack[-1]
            stack[-1] = call(func, args if isinstance(args, tuple) else (args,))
        elif c == 0x81:                                 # NEWOBJ
            args = stack.pop()
            cls = stack[-1]
            stack[-1] = call(cls, args if isinstance(args, tuple) else (args,))
        elif c == 0x92:                                 # NEWOBJ_EX
            kwargs = stack.pop()
            args = stack.pop()
            cls = stack[-1]
            stack[-1] = call(cls, args if isinstance(args, tuple) else (args,),
                             kwargs if isinstance(kwargs, dict) else None)
        elif c == 0x6F:                                 # OBJ
            items = pop_mark()
            if not items:
                raise error("OBJ without a class", inp.pos)
            stack.append(call(items[0], tuple(items[1:])))
        elif c == 0x69:                                 # INST
            module = readline()[:-1].decode("utf-8", "replace")
            name = readline()[:-1].decode("utf-8", "replace")
            items = pop_mark()
            stack.append(call(Global(module, name), tuple(items)))
        elif c == 0x62:                                 # BUILD
            state = stack.pop()
            target = stack[-1]
            if build is not None:
                v = build(target, state)
                if v is not None:
                    stack[-1] = v
                    continue
            if isinstance(target, (Obj, PickledDict)):
                target.state = state
            # BUILD on plain values (a torch tensor record …) carries nothing we show.
        elif c == 0x50:                                 # PERSID
            pid = readline()[:-1].decode("ascii", "replace")
            stack.append(persistent_load(pid) if persistent_load else Obj(Global("", "persistent"), (pid,)))
        elif c == 0x51:                                 # BINPERSID
            pid = stack.pop()
            stack.append(persistent_load(pid) if persistent_load else Obj(Global("", "persistent"), (pid,)))
        else:
            raise error(f"unknown pickle opcode 0x{c:02x}", inp.pos - 1)


def _put(memo, key, stack, error, inp):
    if not stack:
        raise error("memo PUT with an empty stack", inp.pos)
    if len(memo) >= MAX_MEMO and key not in memo:
        raise error(f"pickle memo larger than {MAX_MEMO} entries", inp.pos)
    memo[key] = stack[-1]


def _get(memo, key, error, inp):
    try:
        return memo[key]
    except KeyError:
        raise error(f"pickle memo has no entry {key}", inp.pos) from None


def _extend(target, items, error, inp):
    if isinstance(target, list):
        target.extend(items)
    elif isinstance(target, Obj):
        if target.items is None:
            target.items = []
        target.items.extend(items)
    else:
        raise error(f"APPEND to a {type(target).__name__}", inp.pos)


_KEY_TYPES = (str, bytes, int, float, bool, type(None), Global, Obj)


def _check_keys(keys, error, inp):
    """Dict keys and set items must be hashable without deep recursion (hashing a
    tuple nested a million deep would overflow the C stack)."""
    for k in keys:
        if isinstance(k, tuple):
            if not all(isinstance(x, _KEY_TYPES) for x in k):
                for x in k:
                    if not isinstance(x, _KEY_TYPES) and not (
                            isinstance(x, tuple) and all(isinstance(y, _KEY_TYPES) for y in x)):
                        raise error("pickle uses a nested or unhashable value as a key", inp.pos)
        elif not isinstance(k, _KEY_TYPES):
            raise error(f"pickle uses a {type(k).__name__} as a key", inp.pos)


def _setitems(target, items, error, inp):
    _check_keys(items[0::2], error, inp)
    if isinstance(target, dict):
        for i in range(0, len(items) - 1, 2):
            target[items[i]] = items[i + 1]
    elif isinstance(target, Obj):
        if target.items is None:
            target.items = []
        target.items.extend((items[i], items[i + 1]) for i in range(0, len(items) - 1, 2))
    else:
        raise error(f"SETITEM on a {type(target).__name__}", inp.pos)


def globals_in(value, limit=100_000):
    """The dotted names of every global reachable from a loaded value (bounded walk)."""
    names, seen, todo = set(), set(), [value]
    while todo and len(seen) < limit:
        v = todo.pop()
        if isinstance(v, (str, bytes, int, float, bool, type(None))):
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, Global):
            names.add(v.full)
        elif isinstance(v, Obj):
            todo.extend((v.cls, v.args, v.kwargs, v.state, v.items))
        elif isinstance(v, dict):
            todo.extend(v.keys())
            todo.extend(v.values())
            if isinstance(v, PickledDict):
                todo.append(v.state)
        elif isinstance(v, (list, tuple, set, frozenset)):
            todo.extend(v)
        else:
            for name in getattr(type(v), "__slots__", ()):   # callers' records
                todo.append(getattr(v, name, None))
    return names


def short_repr(value, limit=200, depth=0):
    """A bounded text of a loaded value, for display."""
    if depth > 6:
        return "…"
    if isinstance(value, Obj):
        inner = ", ".join(short_repr(a, limit, depth + 1) for a in value.args[:8])
        text = f"{value.name}({inner})"
    elif isinstance(value, Global):
        text = value.full
    elif isinstance(value, dict):
        parts = [f"{short_repr(k, 40, depth + 1)}: {short_repr(v, 60, depth + 1)}"
                 for k, v in list(value.items())[:8]]
        text = "{" + ", ".join(parts) + (", …" if len(value) > 8 else "") + "}"
    elif isinstance(value, (list, tuple)):
        parts = [short_repr(v, 60, depth + 1) for v in value[:8]]
        o, c = ("[", "]") if isinstance(value, list) else ("(", ")")
        text = o + ", ".join(parts) + (", …" if len(value) > 8 else "") + c
    elif isinstance(value, (str, bytes, int, float, bool, type(None))):
        text = repr(value)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"
