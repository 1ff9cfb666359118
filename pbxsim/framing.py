"""AMI message framing: bytes in, header lists out, and back. Pure, no I/O.

An AMI message is an ordered list of ``Key: Value`` lines ended by a blank line. Keys may
repeat (``Variable`` in Originate), so a message keeps every pair in order; lookups are
case-insensitive because Asterisk reads headers that way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_BUFFER = 1 << 20


class Message:
    """One AMI message: ordered (key, value) pairs with case-insensitive lookup."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.pairs: list[tuple[str, str]] = list(pairs)

    def get(self, key: str, default: str = "") -> str:
        """The first value for ``key`` (as Asterisk's astman_get_header), or ``default``."""
        low = key.lower()
        for k, v in self.pairs:
            if k.lower() == low:
                return v
        return default

    def has(self, key: str) -> bool:
        low = key.lower()
        return any(k.lower() == low for k, _ in self.pairs)

    def getall(self, key: str) -> list[str]:
        low = key.lower()
        return [v for k, v in self.pairs if k.lower() == low]

    def add(self, key: str, value: object) -> Message:
        self.pairs.append((key, str(value)))
        return self

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.pairs)

    def __repr__(self) -> str:
        return f"Message({self.pairs!r})"

    def encode(self) -> bytes:
        return encode(self.pairs)


def encode(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Serialise pairs as Asterisk writes them: ``Key: Value\\r\\n`` lines, then a blank line."""
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode("utf-8") + b"\r\n"


def parse_line(line: str) -> tuple[str, str] | None:
    """Split one header line; Asterisk accepts ``Key: Value`` and tolerates ``Key:Value``."""
    key, sep, value = line.partition(":")
    if not sep or not key.strip():
        return None
    if value.startswith(" "):
        value = value[1:]
    return key.strip(), value


class Parser:
    """Incremental parser: feed bytes as they arrive, get complete messages back."""

    def __init__(self) -> None:
        self._buf = b""
        self._lines: list[tuple[str, str]] = []

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        if len(self._buf) > MAX_BUFFER:
            raise ValueError("AMI line too long")
        out: list[Message] = []
        while True:
            idx = self._buf.find(b"\n")
            if idx < 0:
                break
            raw, self._buf = self._buf[:idx], self._buf[idx + 1 :]
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if line == "":
                if self._lines:
                    out.append(Message(self._lines))
                    self._lines = []
                continue
            pair = parse_line(line)
            if pair is not None:
                self._lines.append(pair)
        return out


def split_capture(data: bytes) -> list[Message]:
    """Messages of a raw capture (banner dropped): what a client read from Asterisk."""
    if data.startswith(b"Asterisk Call Manager"):
        data = data.split(b"\r\n", 1)[1]
    return Parser().feed(data)
