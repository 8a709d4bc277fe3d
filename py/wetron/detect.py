"""Recognising a file by its content, and naming near-misses clearly."""

# Files people often mistake for a model: (prefix, what it is).
_NOT_MODELS = [
    (b"version https://git-lfs", "a Git LFS pointer, not the model itself "
                                 "(run `git lfs pull` to fetch the real file)"),
    (b"<!DOCTYPE html", "an HTML page, not a model (a download link that returned a web page?)"),
    (b"<!doctype html", "an HTML page, not a model (a download link that returned a web page?)"),
    (b"<html", "an HTML page, not a model"),
    (b"\x89PNG", "a PNG image, not a model"),
    (b"\xff\xd8\xff", "a JPEG image, not a model"),
    (b"%PDF", "a PDF document, not a model"),
    (b"PK\x03\x04", "a zip archive that Wetron cannot read as a model yet"),
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first"),
]


def not_a_model(head):
    """What the file is, if its first bytes say it is not a model we read."""
    for prefix, what in _NOT_MODELS:
        if head.startswith(prefix):
            return what
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "a JSON text file, not a model"
    return None
