"""Small helpers shared across the package."""
import contextlib
import gc


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
