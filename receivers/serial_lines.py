"""Shared pieces of the receiver-to-automation serial protocols (Sur-Gard, Ademco 685)."""

from __future__ import annotations

from typing import Final

ACK: Final = b"\x06"
NAK: Final = b"\x15"
DC4: Final = b"\x14"
MAX_LINE: Final = 512


def split_lines(buffer: bytes, terminator: bytes) -> tuple[list[bytes], bytes]:
    """Cut terminated lines out of a byte stream; returns lines (terminator kept) and the rest.

    A run longer than :data:`MAX_LINE` without terminator is returned as a line of its own, so
    that it is answered with NAK instead of growing the buffer forever.
    """
    lines: list[bytes] = []
    while True:
        end = buffer.find(terminator)
        if end == -1:
            if len(buffer) > MAX_LINE:
                lines.append(buffer)
                buffer = b""
            return lines, buffer
        lines.append(buffer[: end + len(terminator)])
        buffer = buffer[end + len(terminator) :]
