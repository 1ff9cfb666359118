"""AMI wire format: an incremental stream decoder and an action encoder (pure, no I/O).

Asterisk's manager interface sends one banner line (``Asterisk Call Manager/11.0.0\\r\\n``) and then
messages: ``Key: Value`` lines ended by ``\\r\\n``, a blank line after each message. Bytes may be
split anywhere by TCP, so :class:`AmiDecoder` buffers until a whole message is there.

A decoded message is a plain ``dict[str, str]`` in wire order, because the state model looks up a
handful of headers per event and dicts are the fastest thing Python has for that. Two rules keep it
lossless:

* a repeated header (rare outside ``ChanVariable``) keeps all values joined by ``\\n`` (a value can
  never hold a line break on the wire);
* ``ChanVariable: NAME=value`` lines (``channelvars`` in manager.conf) also appear as
  ``ChanVariable(NAME): value`` so the model can read one variable directly.

A line without ``": "`` inside a message (command output of old versions) is appended to
``Output``. The banner becomes ``{"Banner": "Asterisk Call Manager/11.0.0"}``; it may also appear
mid-stream, as it does when captures of several connections are concatenated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

Message = dict[str, str]

EOL = b"\r\n"
_END = b"\r\n\r\n"
BANNER_PREFIX = b"Asterisk Call Manager/"
BANNER_KEY = "Banner"


def parse_block(block: str) -> Message:
    """Parse one message (its lines without the terminating blank line) into a dict."""
    msg: Message = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":") and " " not in line:
                key, value = line[:-1], ""
            elif not line:
                continue
            else:
                key, value = "Output", line
        if key in msg:
            msg[key] = msg[key] + "\n" + value
        else:
            msg[key] = value
        if key == "ChanVariable":
            name, _, var_value = value.partition("=")
            msg[f"ChanVariable({name})"] = var_value
    return msg


class AmiDecoder:
    """Incremental decoder: ``feed(bytes)`` returns the messages completed by those bytes."""

    __slots__ = ("_buf", "encoding")

    def __init__(self, encoding: str = "utf-8") -> None:
        self._buf = b""
        self.encoding = encoding

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the end of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        buf = self._buf + data if self._buf else data
        out: list[Message] = []
        pos = 0
        n = len(buf)
        enc = self.encoding
        while pos < n:
            if buf.startswith(BANNER_PREFIX, pos):
                eol = buf.find(EOL, pos)
                if eol < 0:
                    break
                out.append({BANNER_KEY: buf[pos:eol].decode(enc, "replace")})
                pos = eol + 2
                continue
            if buf.startswith(EOL, pos):  # stray blank line between messages
                pos += 2
                continue
            if n - pos < len(BANNER_PREFIX) and BANNER_PREFIX.startswith(buf[pos:]):
                break  # could still become a banner line
            end = buf.find(_END, pos)
            if end < 0:
                break
            out.append(parse_block(buf[pos:end].decode(enc, "replace")))
            pos = end + 4
        self._buf = buf[pos:]
        return out


def iter_messages(chunks: Iterable[bytes], encoding: str = "utf-8") -> Iterator[Message]:
    """Decode a whole stream given as chunks (a file read at once is one chunk)."""
    dec = AmiDecoder(encoding)
    for chunk in chunks:
        yield from dec.feed(chunk)


HeaderValue = str | int | bool | Sequence[str]


def _text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "\r" in text or "\n" in text:
        raise ValueError(f"AMI header value may not contain a line break: {text!r}")
    return text


def encode_action(action: Mapping[str, HeaderValue]) -> bytes:
    """Serialize an action in the given header order; list values repeat the header.

    Booleans become ``true``/``false`` (what Asterisk's ast_true accepts); a value with a line
    break is refused because it would inject headers.
    """
    parts: list[str] = []
    for key, value in action.items():
        if isinstance(value, str | int | bool):
            parts.append(f"{key}: {_text(value)}\r\n")
        else:
            parts.extend(f"{key}: {_text(item)}\r\n" for item in value)
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


def encode_message(msg: Mapping[str, str]) -> bytes:
    """Serialize a decoded message back to wire bytes (used by test servers and simulators)."""
    if BANNER_KEY in msg and len(msg) == 1:
        return msg[BANNER_KEY].encode("utf-8") + EOL
    lines: list[str] = []
    for key, value in msg.items():
        if key.startswith("ChanVariable("):
            continue
        lines.extend(f"{key}: {v}\r\n" for v in value.split("\n"))
    return ("".join(lines) + "\r\n").encode("utf-8")
