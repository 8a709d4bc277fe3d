"""Byte sources: where a parser's bytes come from (size; read(offset, length)).

In CPython a file, in the browser a JS Blob read through FileReaderSync (web.py).
Parsers never load a whole file: they read ranges and skip weights by offset.
"""
import io
import os

from .errors import ModelError


class Source:
    name = "<bytes>"
    size = 0

    def read(self, offset, length):
        """Exactly `length` bytes at `offset`, or ModelError if the file is shorter."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ModelError(f"unexpected end of file: {length} bytes wanted at byte {offset} "
                             f"of {self.size}", self.name)
        if length == 0:
            return b""
        data = self._read(offset, length)
        if len(data) != length:
            raise ModelError(f"file changed or could not be read at byte {offset}", self.name)
        return data

    def _read(self, offset, length):
        raise NotImplementedError

    def close(self):
        pass


class BytesSource(Source):
    def __init__(self, data, name="<bytes>"):
        self.data = bytes(data)
        self.size = len(self.data)
        self.name = name

    def _read(self, offset, length):
        return self.data[offset:offset + length]


class FileSource(Source):
    def __init__(self, path):
        self.path = os.fspath(path)
        self.name = os.path.basename(self.path)
        try:
            self._file = open(self.path, "rb")
        except FileNotFoundError:
            raise ModelError("file not found", self.path) from None
        except IsADirectoryError:
            raise ModelError("is a directory, not a model file", self.path) from None
        except OSError as e:
            raise ModelError(f"cannot open: {e.strerror}", self.path) from None
        self.size = os.fstat(self._file.fileno()).st_size

    def _read(self, offset, length):
        self._file.seek(offset)
        return self._file.read(length)

    def close(self):
        self._file.close()


class SourceFile(io.RawIOBase):
    """A read-only file object over a Source, so that zipfile reads an archive's
    directory and members in ranges instead of the whole file."""

    def __init__(self, source):
        self.source, self.pos = source, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self.pos, 2: self.source.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self.source.size - self.pos))
        if n:
            buffer[:n] = self.source.read(self.pos, n)
        self.pos += n
        return n


class SliceSource(Source):
    """A byte range of another Source (a stored zip member) seen as a file."""

    def __init__(self, source, offset, size, name):
        self.source, self.offset, self.size, self.name = source, offset, size, name

    def _read(self, offset, length):
        return self.source.read(self.offset + offset, length)


def escapes_folder(name):
    """Whether a companion's name, which comes from the untrusted model file, could lead
    outside the model's folder: an absolute path ('/x', '\\x', a drive 'C:x' as Windows
    reads it), or one with a '..' component ('\\' taken as '/')."""
    parts = name.replace("\\", "/").split("/")
    drive = len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha()
    return name.startswith(("/", "\\")) or drive or ".." in parts


def refuse_escaping(name, model):
    """ModelError naming the model file when a companion's name escapes its folder; the
    companion lookups (beside the file here, among the files given in the page: web.py)
    ask this first, whatever the format checked."""
    if escapes_folder(name):
        raise ModelError(f"companion file '{name}' named in the model lies outside its "
                         "folder (an absolute path or one with '..'): refused", model)


def sibling_resolver(path):
    """Companion-file lookup beside a model on disk (external data and the like).
    Names come from the untrusted file, so only plain relative paths inside the
    model's folder are accepted (refuse_escaping)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))

    def resolve(name):
        refuse_escaping(name, path)
        full = os.path.join(folder, name)
        return FileSource(full) if os.path.isfile(full) else None

    def names(limit=10000):
        """The files beside the model (up to `limit`): for companions found by a
        pattern rather than a name the model gives (a prototxt's *.caffemodel)."""
        try:
            with os.scandir(folder) as entries:
                found = []
                for e in entries:
                    if len(found) >= limit:
                        break
                    if e.is_file():
                        found.append(e.name)
                return sorted(found)
        except OSError:
            return []
    resolve.names = names
    return resolve
