"""Symbolic dims: a tensor dim is an int (static), a string (a symbol such as "batch",
or a readable expression of symbols such as "seq+1" or "2*batch") or None (unknown).
Arithmetic on them stays exact or gives None, never a guess; expressions are bounded
(MAX_TERMS terms, MAX_DEGREE symbols a term, MAX_EXPR characters). One assumption is
made about symbols: they are at least 1.
"""
import re

MAX_TERMS = 8          # terms of a symbolic expression, else unknown
MAX_DEGREE = 4         # symbols multiplied in one term
MAX_EXPR = 48          # characters of a rendered expression
MAX_DIM = 2 ** 63 - 1  # dims and folded ints beyond int64 are unknown (they only come
                       # from hostile files, and would grow without bound)

# A polynomial is a dict {monomial: coefficient}; a monomial is a sorted tuple of
# symbol names (repeated for powers); () is the constant term.

_IDENT = re.compile(r"[A-Za-z_][\w.]*\Z")
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][\w.]*)|\(([^()]*)\)|([-+*]))")
_parsed = {}


def _parse(text):
    """Polynomial of a dim string written as `2*batch+seq-1`; anything else is one
    opaque symbol."""
    if len(text) <= 200:
        poly, pos, sign, term, expect = {}, 0, 1, None, "factor"
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                break
            pos = m.end()
            num, name, group, op = m.groups()
            if expect == "factor":
                if op == "-" and term is None:
                    sign = -sign
                    continue
                if op is not None:
                    break
                if term is None:
                    term = [sign, []]
                if num is not None:
                    term[0] *= int(num)
                else:
                    term[1].append(name if name is not None else group)
                expect = "op"
            else:
                if op is None:
                    break
                if op == "*":
                    expect = "factor"
                    continue
                key = tuple(sorted(term[1]))
                poly[key] = poly.get(key, 0) + term[0]
                term, sign, expect = None, (1 if op == "+" else -1), "factor"
        else:
            if expect == "op":
                key = tuple(sorted(term[1]))
                poly[key] = poly.get(key, 0) + term[0]
                return {k: v for k, v in poly.items() if v}
    return {(text,): 1}


def _poly(d):
    if type(d) is int:
        return {(): d} if d else {}
    p = _parsed.get(d)
    if p is None:
        p = _parse(d)
        if len(_parsed) < 20000:
            _parsed[d] = p
    return p


def _name(s):
    return s if _IDENT.match(s) else f"({s})"


def _render(p):
    """int, an expression string, or None when too big to stay readable."""
    if not p:
        return 0
    if len(p) == 1 and () in p:
        return p[()]
    if len(p) > MAX_TERMS:
        return None
    out = []
    for mono, coef in sorted(p.items(), key=lambda kv: (kv[0] == (), -len(kv[0]), kv[0])):
        if len(mono) > MAX_DEGREE:
            return None
        names = [_name(s) for s in mono] if len(p) > 1 or coef != 1 or len(mono) > 1 else list(mono)
        mag = abs(coef)
        parts = ([str(mag)] if mag != 1 or not names else []) + names
        text = "*".join(parts)
        out.append(("-" if coef < 0 else ("+" if out else "")) + text)
    text = "".join(out)
    if len(text) > MAX_EXPR:
        return None
    return text


def _padd(p, q, sign=1):
    r = dict(p)
    for k, v in q.items():
        r[k] = r.get(k, 0) + sign * v
    return {k: v for k, v in r.items() if v}


def _sym_add(p, q):
    return _render(_padd(p, q))


def _sym_sub(p, q):
    return _render(_padd(p, q, -1))


def _sym_mul(p, q):
    if len(p) * len(q) > 4 * MAX_TERMS:
        return None
    r = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            k = tuple(sorted(m1 + m2))
            r[k] = r.get(k, 0) + c1 * c2
    return _render({k: v for k, v in r.items() if v})


def _sym_div(p, q):
    if p == q and p:
        return 1
    if len(q) != 1:
        return None
    (qm, qc), = q.items()
    r = {}
    for m, c in p.items():
        rest = list(m)
        for s in qm:
            if s not in rest:
                return None
            rest.remove(s)
        if c % qc:
            return None
        r[tuple(rest)] = c // qc
    return _render(r)


_memo = {}   # (op, a, b) -> result: exports repeat the same symbolic arithmetic per layer


def _symbolic(fn, a, b):
    key = (fn, a, b)
    r = _memo.get(key, _memo)
    if r is _memo:
        r = fn(_poly(a), _poly(b))
        if len(_memo) < 50000:
            _memo[key] = r
    return r


def dim_add(a, b):
    if type(a) is int and type(b) is int:
        return a + b
    return None if a is None or b is None else _symbolic(_sym_add, a, b)


def dim_sub(a, b):
    if type(a) is int and type(b) is int:
        return a - b
    return None if a is None or b is None else _symbolic(_sym_sub, a, b)


def dim_mul(a, b):
    if type(a) is int and type(b) is int:
        return a * b
    return None if a is None or b is None else _symbolic(_sym_mul, a, b)


def dim_div(a, b):
    """a / b when it divides exactly (as polynomials), else None."""
    if type(a) is int and type(b) is int:
        return a // b if b and a % b == 0 else None
    return None if a is None or b is None else _symbolic(_sym_div, a, b)


def _floor_div(a, b):
    if type(a) is int and type(b) is int:
        return a // b if b > 0 else None
    return dim_div(a, b)


def _ceil_div(a, b):
    if type(a) is int and type(b) is int:
        return -(-a // b) if b > 0 else None
    return dim_div(a, b)


def dim_min(a, b):
    """The smaller of two dims: an int, one of them when they are equal, else the
    expression min(a,b) (a Slice's length, clamped to its axis), None when unknown."""
    if a is None or b is None:
        return None
    if type(a) is int and type(b) is int:
        return min(a, b)
    if a == b:
        return a
    text = f"min({a},{b})"
    return text if len(text) <= MAX_EXPR else None


def _min_args(d):
    """(x, y) of a dim written min(x,y) by dim_min, else ()."""
    if type(d) is not str or not d.startswith("min(") or not d.endswith(")"):
        return ()
    inner, depth = d[4:-1], 0
    for i, ch in enumerate(inner):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            x, y = inner[:i], inner[i + 1:]
            return tuple(int(v) if v.isdigit() else v for v in (x, y))
    return ()


def dim_prod(dims):
    r = 1
    for d in dims:
        r = dim_mul(r, d)
        if r is None:
            return None
    return r


def _nonneg(d):
    """True when d >= 0 for every value of its symbols >= 1."""
    if d is None:
        return False
    if type(d) is int:
        return d >= 0
    p = _poly(d)
    return all(c > 0 for m, c in p.items() if m) and sum(p.values()) >= 0


def evaluate(d, bindings=None, default=None):
    """The int a dim takes when its symbols are bound; None when one of them is not
    (and no `default` is given), or when an expression does not give an int."""
    if d is None or type(d) is int:
        return d
    total = 0
    for mono, coef in _poly(d).items():
        for s in mono:
            v = bindings.get(s, default) if bindings else default
            if v is None and not _IDENT.match(s):
                v = _Expr(s, bindings, default).value()   # floor((height-1)/2)+1, ...
            if v is None:
                return None
            coef *= v
        total += coef
    return total


def symbols(d):
    """Names of the symbols in a dim (those inside a written-out expression too)."""
    if type(d) is not str:
        return ()
    names = set()
    for mono in _poly(d):
        for s in mono:
            if _IDENT.match(s):
                names.add(s)
            else:
                names.update(_Expr(s).names())
    return tuple(sorted(names))


# --- dims written as expressions by other tools ------------------------------------
# Files hold dims such as "floor((height - 1)/2) + 1" (sympy-based shape inference, as
# ONNX Runtime's and onnxslim's) or "((s0 - 1)//2) + 1" (torch.export): parsed here by
# a small bounded parser, never eval. Arithmetic is exact (fractions).

MAX_EXPR_TEXT = 2000   # characters of an expression read from a file
MAX_EXPR_DEPTH = 40    # nesting of parentheses and calls
_EXPR_TOKEN = re.compile(r"\s*(?:(\d{1,30}(?:\.\d{1,30})?)|([A-Za-z_][\w.]*)|(//|\*\*|[-+*/%(),]))")
_FUNCTIONS = {
    "floor": (1, lambda x: x.numerator // x.denominator),
    "FloorToInt": (1, lambda x: x.numerator // x.denominator),
    "ceiling": (1, lambda x: -(-x.numerator // x.denominator)),
    "ceil": (1, lambda x: -(-x.numerator // x.denominator)),
    "CeilToInt": (1, lambda x: -(-x.numerator // x.denominator)),
    "FloorDiv": (2, lambda a, b: (a / b).numerator // (a / b).denominator),
    "CeilDiv": (2, lambda a, b: -(-(a / b).numerator // (a / b).denominator)),
    "Mod": (2, lambda a, b: a % b),
    "Max": (None, max), "max": (None, max), "Min": (None, min), "min": (None, min),
    "Abs": (1, abs), "abs": (1, abs),
}


class _Malformed(Exception):
    pass


class _Number(str):
    """A number token ("2", "0.5"; sympy writes "2.0*x"), told apart from names."""


class _Expr:
    """One expression: its symbol names, or its value with symbols bound."""

    def __init__(self, text, bindings=None, default=None):
        self.text, self.bindings, self.default = text, bindings or {}, default
        self.tokens = []
        if len(text) <= MAX_EXPR_TEXT:
            pos = 0
            while pos < len(text):
                m = _EXPR_TOKEN.match(text, pos)
                if not m:
                    if text[pos:].strip():
                        self.tokens = None
                    break
                self.tokens.append(m.group(m.lastindex) if m.lastindex != 1 else _Number(m.group(1)))
                pos = m.end()
        else:
            self.tokens = None

    def names(self):
        """The symbols of a well-formed expression; anything else is one symbol, its text."""
        names = {t for i, t in enumerate(self.tokens or ()) if type(t) is str and _IDENT.match(t)
                 and not (i + 1 < len(self.tokens) and self.tokens[i + 1] == "(")}
        try:
            self._parse({name: 1 for name in names})
        except ArithmeticError:
            pass   # well-formed: only 1 is not a value its symbols can take
        except (_Malformed, ValueError, TypeError):
            return {self.text}
        return names

    def value(self):
        try:
            v = self._parse(self.bindings)
        except (_Malformed, ArithmeticError, ValueError, TypeError):
            return None
        return int(v) if v.denominator == 1 and abs(v) <= MAX_DIM else None

    def _parse(self, bindings):
        if not self.tokens:
            raise _Malformed
        from fractions import Fraction
        self.fraction, self.pos, self.depth, self.bound = Fraction, 0, 0, bindings
        v = self._sum()
        if self.pos != len(self.tokens):
            raise _Malformed
        return v

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, expected=None):
        t = self._peek()
        if t is None or (expected is not None and t != expected):
            raise _Malformed
        self.pos += 1
        return t

    def _sum(self):
        v = self._product()
        while self._peek() in ("+", "-"):
            v = v + self._product() if self._take() == "+" else v - self._product()
        return v

    def _product(self):
        v = self._unary()
        while self._peek() in ("*", "/", "//", "%"):
            op, w = self._take(), self._unary()
            if op == "*":
                v = v * w
            elif op == "/":
                v = v / w
            elif op == "//":
                v = self.fraction((v / w).numerator // (v / w).denominator)
            else:
                v = v % w
            if abs(v) > MAX_DIM:
                raise _Malformed
        return v

    def _unary(self):
        if self._peek() == "-":
            self._take()
            return -self._unary()
        if self._peek() == "+":
            self._take()
            return self._unary()
        v = self._atom()
        if self._peek() == "**":
            self._take()
            e = self._unary()
            if e.denominator != 1 or not 0 <= e <= 8:
                raise _Malformed
            v = v ** int(e)
        return v

    def _atom(self):
        t = self._take()
        if type(t) is _Number:
            return self.fraction(str(t))
        if t == "(":
            return self._nested(self._sum, ")")
        if type(t) is not str or not _IDENT.match(t):
            raise _Malformed
        if self._peek() == "(":
            self._take()
            arity, fn = _FUNCTIONS.get(t, (0, None))
            if fn is None:
                raise _Malformed
            args = self._nested(self._arguments, ")")
            if arity is not None and len(args) != arity or not args:
                raise _Malformed
            return self.fraction(fn(*args))
        v = self.bound.get(t, self.default)
        if type(v) is not int:
            raise _Malformed   # an unbound symbol
        return self.fraction(v)

    def _arguments(self):
        args = [self._sum()]
        while self._peek() == ",":
            self._take()
            args.append(self._sum())
        return args

    def _nested(self, parse, close):
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            raise _Malformed
        v = parse()
        self._take(close)
        self.depth -= 1
        return v


def _bdim(a, b):
    """Broadcast of two dims (numpy rules)."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if type(a) is int:
        return a if type(b) is not int else None
    if type(b) is int:
        return b
    if type(a) is str and type(b) is str:
        if _poly(a) == _poly(b):
            return a
        # min(a, c) <= a: where they broadcast (equal, or one of them 1) the result is a
        if a in _min_args(b):
            return a
        if b in _min_args(a):
            return b
    return None


def broadcast(shapes):
    if len(shapes) == 2:   # the common case, with fast paths for equal shapes and suffixes
        a, b = shapes
        if a is None or b is None:
            return None
        if a == b:
            return a
        if len(b) < len(a) and a[len(a) - len(b):] == b:
            return a
    elif any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        d = 1
        for s in shapes:
            j = i - rank + len(s)
            if j >= 0:
                d = _bdim(d, s[j])
        out.append(d)
    return tuple(out)


def _same(a, b):
    """Merge two dims that must be equal: the more specific wins."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    return b if type(b) is int and type(a) is not int else a



# --- figures as polynomials of unbound sizes -----------------------------------------
# A FLOP or MAC count whose factors are polynomial dims (batch*3*224*224) is a
# polynomial of the sizes not set: cost rules compute with Poly dims as with ints
# (+, -, *, math.prod). Anything that is not exact on a polynomial (a comparison, max,
# a division that does not divide every coefficient, a float) raises TypeError, and the
# figure stays "needs sizes": never a guess.

MAX_POLY_TERMS = 64          # terms of a figure's polynomial, else not kept
MAX_POLY_DEGREE = 8          # sizes multiplied in one term
_MAX_COEF = 2 ** 63 - 1      # (ops.base.MAX_FIGURE)


class Poly:
    """An integer polynomial of sizes: {monomial: coefficient}, a monomial a sorted tuple
    of size names (repeated for powers). Results that are constant are ints."""
    __slots__ = ("terms",)

    def __init__(self, terms):
        self.terms = terms

    @staticmethod
    def make(terms):
        terms = {k: v for k, v in terms.items() if v}
        if len(terms) > MAX_POLY_TERMS:
            raise ArithmeticError("polynomial too long")
        if not terms:
            return 0
        if len(terms) == 1 and () in terms:
            return terms[()]
        return Poly(terms)

    @staticmethod
    def of_dim(d, bindings, unbound):
        """A dim (int or expression string) as an int or Poly of the `unbound` sizes, with
        `bindings` substituted; None when it is not a polynomial of them (min(...),
        floor(...), a name no input declares)."""
        if type(d) is int:
            return d
        if type(d) is not str:
            return None
        terms = {}
        for mono, coef in _poly(d).items():
            rest = []
            for s in mono:
                v = bindings.get(s) if bindings else None
                if v is not None:
                    coef *= v
                elif s in unbound:
                    rest.append(s)
                else:
                    return None
            key = tuple(rest)
            terms[key] = terms.get(key, 0) + coef
        return Poly.make(terms)

    @staticmethod
    def terms_of(x):
        return {(): x} if type(x) is int else x.terms

    def __add__(self, other):
        if type(other) is not int and type(other) is not Poly:
            return NotImplemented
        r = dict(self.terms)
        for k, v in Poly.terms_of(other).items():
            r[k] = r.get(k, 0) + v
        return Poly.make(r)

    __radd__ = __add__

    def __neg__(self):
        return Poly({k: -v for k, v in self.terms.items()})

    def __sub__(self, other):
        if type(other) is not int and type(other) is not Poly:
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other):
        if type(other) is not int:
            return NotImplemented
        return (-self) + other

    def __mul__(self, other):
        if type(other) is not int and type(other) is not Poly:
            return NotImplemented
        q = Poly.terms_of(other)
        if len(self.terms) * len(q) > 4 * MAX_POLY_TERMS:
            raise ArithmeticError("polynomial too long")
        r = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in q.items():
                if len(m1) + len(m2) > MAX_POLY_DEGREE:
                    raise ArithmeticError("polynomial degree too high")
                k = tuple(sorted(m1 + m2))
                r[k] = r.get(k, 0) + c1 * c2
        if any(abs(v) > _MAX_COEF for v in r.values()):
            raise ArithmeticError("coefficient past int64")
        return Poly.make(r)

    __rmul__ = __mul__

    def __floordiv__(self, other):
        """Exact only by a positive int dividing every coefficient."""
        if type(other) is not int or other <= 0 or any(v % other for v in self.terms.values()):
            raise TypeError("not an exact division of a polynomial")
        return Poly.make({k: v // other for k, v in self.terms.items()})

    def _undetermined(self, *args):
        raise TypeError("a polynomial of unset sizes has no single value")

    __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __truediv__ = __rtruediv__ = \
        __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __int__ = __float__ = _undetermined

    def __eq__(self, other):
        if other is None:
            return False
        if type(other) is Poly:
            return self.terms == other.terms
        raise TypeError("a polynomial of unset sizes has no single value")

    def __hash__(self):
        return hash(frozenset(self.terms.items()))

    def value(self, bindings):
        """The int at `bindings`, None if one of its sizes is not bound."""
        total = 0
        for mono, coef in self.terms.items():
            for s in mono:
                v = bindings.get(s)
                if v is None:
                    return None
                coef *= v
            total += coef
        return total

    def to_json(self):
        """[[coefficient, [size, ...]], ...], highest degree first."""
        return [[c, list(m)] for m, c in sorted(self.terms.items(), key=lambda kv: (-len(kv[0]), kv[0]))]

    def __repr__(self):
        return f"Poly({self.to_json()})"


def poly_sum(figures):
    """Sum of ints and Polys (an int or a Poly); None if past the bounds."""
    total = 0
    try:
        for f in figures:
            total = total + f
    except ArithmeticError:
        return None
    return total


def poly_json(x):
    """A figure (int or Poly) as the JSON terms Poly.to_json gives."""
    return x.to_json() if type(x) is Poly else [[x, []]] if x else []
