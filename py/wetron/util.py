"""Small helpers shared across the package."""
import contextlib
import gc
import json


@contextlib.contextmanager
def paused_gc():
    """Building a big graph allocates millions of small objects and no cycles worth
    collecting; CPython's collector would otherwise take most of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- limits ----------------------------------------------------------------------
# What Wetron opens at most (docs/graph-schema.md, "Limits"). Each is checked from a
# file's own counts before the memory is spent, so a hostile or broken file is
# rejected in milliseconds with a ModelError, not after minutes and gigabytes.
MAX_NODES = 1_000_000     # nodes in all graphs of a model (a 1M-node ONNX chain: ~25 s, 1.6 GB)
MAX_TENSORS = 1_000_000   # tensors of a model: weights, constants (real files: < 100k)
MAX_ELEMENTS = 2 ** 63 - 1  # elements of one tensor (int64, as every format counts them)
MAX_JSON_DIGITS = 20      # digits of an integer in JSON read from a file (2**64 has 20)


def too_many(n, what, limit):
    """The message for a count over a limit: '3,000,000 nodes, more than the
    1,000,000 Wetron opens'."""
    return f"{n:,} {what}, more than the {limit:,} Wetron opens"


class _HugeInteger(Exception):
    pass


def _bounded_int(text):
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise _HugeInteger(len(text.lstrip("-")))
    return int(text)


def load_json(data, error, what="the JSON"):
    """json.loads of bytes or text from a file, integers bounded to MAX_JSON_DIGITS
    digits (a dimension of 10**4000 would otherwise reach str() and int-to-str
    limits later). error(message) -> the ModelError to raise."""
    try:
        return json.loads(data, parse_int=_bounded_int)
    except _HugeInteger as e:
        raise error(f"{what} holds an integer of {e.args[0]:,} digits, more than the "
                    f"{MAX_JSON_DIGITS} Wetron reads") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise error(f"{what} is not valid JSON: {e}") from None
    except RecursionError:
        raise error(f"{what} is nested too deeply") from None
