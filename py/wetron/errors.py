"""The one exception the package raises for bad input."""


class ModelError(Exception):
    """A model file could not be read. The message names the file, the format and
    what is wrong, in one line fit for a user."""

    def __init__(self, message, file=None, format=None, offset=None):
        self.file, self.format, self.offset, self.detail = file, format, offset, message
        parts = [p for p in (file, format) if p]
        where = f" (at byte {offset})" if offset is not None else ""
        super().__init__(": ".join(parts + [message]) + where)
