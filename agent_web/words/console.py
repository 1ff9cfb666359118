"""Words of the console's shell and configured lists."""

ROWS: list[tuple[str, str, str]] = [
    ("choices.save", "保存", "Save"),
]
