"""The one exception the package raises for bad input."""


class ModelError(Exception):
    """A model file could not be read. The message names the file, the format and
    what is wrong, in one line fit for a user."""

    def __init__(self, message, file=None, format=None, offset=None):
        # One line, whatever names from the file contain.
        message = _one_line(message)
        file = _one_line(file) if file else file
        self.file, self.format, self.offset, self.detail = file, format, offset, message
        parts = [p for p in (file, format) if p]
        where = f" (at byte {offset})" if offset is not None else ""
        super().__init__(": ".join(parts + [message]) + where)


def _one_line(text, limit=500):
    text = "".join(c if c.isprintable() else " " for c in str(text))
    return text if len(text) <= limit else text[:limit] + "…"


class Refused(ModelError):
    """The file is of the format that raises this and is refused as hostile (a pickle
    that would run code when unpickled): the registry tries no other format for it."""
