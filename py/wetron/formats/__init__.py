"""One module per model format; `open_source` picks the right one by content."""
