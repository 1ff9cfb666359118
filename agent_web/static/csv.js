// CSV for the report exports. A cell a spreadsheet would run as a formula (one starting with
// = + - @, a tab or a CR: "=HYPERLINK(...)" typed into a name) is written as text, with a
// leading apostrophe; numbers stay numbers.
export function csvCell(v) {
  const s = String(v ?? "");
  return typeof v !== "number" && /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

export function csvText(rows) {
  return rows.map((r) => r.map((v) => `"${csvCell(v).replaceAll('"', '""')}"`).join(",")).join("\r\n");
}
