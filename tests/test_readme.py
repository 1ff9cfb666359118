"""The README is what a new operator reads first: it must match the code."""

from pathlib import Path

from vigil.settings_doc import BEGIN, END, rows

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_shows_the_two_commands_first() -> None:
    text = README.read_text(encoding="utf-8")
    first = text.index("## ")
    assert text.index("make demo") > first and text.index("make test") > first
    assert text.index("make demo") < text.index("## Configuration")


def test_readme_lists_every_setting_with_its_default() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split(BEGIN, 1)[1].split(END, 1)[0]
    missing = [var for var, default, _ in rows() if f"| `{var}` | `{default}` |" not in table]
    assert not missing, f"README settings out of date (run `make readme-settings`): {missing}"
