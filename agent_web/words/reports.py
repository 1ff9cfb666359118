"""Words of the reports page."""

ROWS: list[tuple[str, str, str]] = [
    ("rep.dispositions", "通话处理结果", "Calls by disposition"),
    ("rep.dispositions.hint", "坐席在话后处理时为队列来电选择的处理结果，按选择次数排列。",
     "What agents picked in wrap-up for their queue calls, most first."),
    ("rep.no_disposition", "未选择", "None picked"),
    ("rep.calls", "通话数", "Calls"),
    ("rep.col.disposition", "处理结果", "disposition"),
]
