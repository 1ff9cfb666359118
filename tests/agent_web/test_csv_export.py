"""Issue 13, finding 10: the reports' CSV export writes a cell that a spreadsheet would run as a
formula as text. The console's own module (agent_web/static/csv.js, what the Export button
uses) is run under Node, which the project's front-end build needs anyway."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CSV_JS = Path(__file__).resolve().parents[2] / "agent_web" / "static" / "csv.js"


def csv_text(rows: list[list[object]]) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("the CSV module test needs Node.js (make setup needs it too)")
    script = (f"import {{ csvText }} from {json.dumps(CSV_JS.as_uri())};"
              f"process.stdout.write(csvText({json.dumps(rows)}));")
    out = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True,
                         timeout=30, check=True)
    return out.stdout.decode("utf-8")  # bytes: keep the CSV's CRLF as written


def test_formula_cells_are_written_as_text() -> None:
    rows = [["agent", "calls", "note"],
            ["=HYPERLINK(\"http://evil.example\",\"x\")", 3, "+1"],
            ["@SUM(A1)", -5, "-2+3"], ["\tcmd", 0, "plain"], ["王芳", 1.5, "a \"quoted\" word"]]
    text = csv_text(rows)
    lines = text.split("\r\n")
    assert lines[0] == '"agent","calls","note"'
    assert lines[1] == '"\'=HYPERLINK(""http://evil.example"",""x"")","3","\'+1"'
    assert lines[2] == '"\'@SUM(A1)","-5","\'-2+3"'  # a real number stays a number
    assert lines[3] == '"\'\tcmd","0","plain"'
    assert lines[4] == '"王芳","1.5","a ""quoted"" word"'
