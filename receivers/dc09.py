"""SIA DC-09 codec: frames, CRC, AES, SIA-DCS / ADM-CID data, replies. No I/O here.

Frame: ``<LF><CRC 4 hex><LEN 4 hex>"<ID>"<seq>[R<rcvr>]L<line>[#<acct>][<data>]<xdata>_<ts><CR>``.
The CRC (CRC-16/ARC) and LEN cover everything from the first ``"`` up to the ``<CR>``.

:class:`Dc09Receiver` is the decision function the transports call: frame bytes, the clock's
time and the configured keys in; signals (or a link test) plus the ACK to send after storing,
or a rejection with its NAK / DUH, out.
"""

from __future__ import annotations

import logging
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core import event_codes
from receivers import contact_id
from receivers.outcome import Accepted, Outcome, Rejected
from receivers.signal import Signal

log = logging.getLogger(__name__)

LF: Final = b"\n"
CR: Final = b"\r"
MAX_FRAME: Final = 4096  # longer than any real frame; protects the stream splitter
MESSAGE_IDS: Final = ("SIA-DCS", "ADM-CID", "NULL")
REPLY_IDS: Final = ("ACK", "NAK", "DUH", "RSP")
TIMESTAMP_FORMAT: Final = "_%H:%M:%S,%m-%d-%Y"
_PAD_ALPHABET: Final = string.ascii_letters + string.digits

# Names for the extended-data letters we know (DC-09 Annex); others are kept as ``x_<letter>``.
XDATA_NAMES: Final[dict[str, str]] = {
    "A": "authentication_hash",
    "H": "time_of_occurrence",
    "I": "text",
    "J": "network_path",
    "L": "location",
    "M": "mac_address",
    "N": "network_address",
    "O": "building",
    "P": "personal_id",
    "R": "room",
    "S": "site",
    "T": "trigger",
    "V": "verification",
    "X": "longitude",
    "Y": "latitude",
    "Z": "altitude",
}


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE: Final = _crc_table()


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC: reflected polynomial 0xA001, initial value 0 (table-driven: every frame
    is checked on receipt and every reply built, so this is on the hot path)."""
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


class Dc09Error(ValueError):
    """A frame that cannot be taken; ``reply`` says which answer the panel gets. ``malformed``:
    not even a frame's envelope (too short, no CRC/length, wrong length), i.e. noise or junk
    rather than a panel's frame damaged on the way."""

    def __init__(self, reason: str, reply: Literal["NAK", "DUH"],
                 malformed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply
        self.malformed = malformed


# --- keys -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dc09Key:
    """An AES key as a panel is configured with it: hex digits or a text used as its bytes.

    Which of the two is always said explicitly, because a 32-character text and a 16-byte
    key written as 32 hex digits look alike and give different keys.
    """

    kind: Literal["hex", "text"]
    value: str

    def __post_init__(self) -> None:
        if self.kind == "hex":
            if len(self.value) not in (32, 48, 64) or not all(
                c in string.hexdigits for c in self.value
            ):
                raise ValueError("hex key must be 32, 48 or 64 hex digits")
        elif self.kind == "text":
            try:
                raw = self.value.encode("ascii")
            except UnicodeEncodeError:
                raise ValueError("text key must be ASCII") from None
            if len(raw) not in (16, 24, 32):
                raise ValueError("text key must be 16, 24 or 32 characters")
        else:
            raise ValueError(f"unknown key kind {self.kind!r}")

    @classmethod
    def from_hex(cls, value: str) -> Dc09Key:
        return cls("hex", value)

    @classmethod
    def from_text(cls, value: str) -> Dc09Key:
        return cls("text", value)

    @property
    def key_bytes(self) -> bytes:
        """The raw AES key (16, 24 or 32 bytes)."""
        return bytes.fromhex(self.value) if self.kind == "hex" else self.value.encode("ascii")

    def __repr__(self) -> str:  # never print key material into logs
        return f"Dc09Key(kind={self.kind!r}, bits={len(self.key_bytes) * 8})"


def decrypt(key: Dc09Key, hex_text: str) -> bytes:
    """AES-CBC with a zero IV over hex text, as DC-09 specifies."""
    if not hex_text or len(hex_text) % 32 or not all(c in string.hexdigits for c in hex_text):
        raise Dc09Error("encrypted block is not whole AES blocks of hex", "DUH")
    dec = Cipher(algorithms.AES(key.key_bytes), modes.CBC(bytes(16))).decryptor()
    return dec.update(bytes.fromhex(hex_text)) + dec.finalize()


def encrypt(key: Dc09Key, plaintext: bytes) -> str:
    """AES-CBC zero IV; ``plaintext`` must already be padded to whole blocks."""
    enc = Cipher(algorithms.AES(key.key_bytes), modes.CBC(bytes(16))).encryptor()
    return (enc.update(plaintext) + enc.finalize()).hex().upper()


def random_pad(n: int) -> str:
    """Pad characters for encrypted content (never ``|``, ``[`` or ``]``)."""
    return "".join(secrets.choice(_PAD_ALPHABET) for _ in range(n))


# --- frames -----------------------------------------------------------------------------------

_HEADER = re.compile(
    r'"(?P<enc>\*?)(?P<id>[A-Z][A-Z-]{0,15})"'
    r"(?P<seq>[0-9]{4})"
    r"(?P<rcvr>R[0-9A-Fa-f]{1,6})?"
    r"(?P<line>L[0-9A-Fa-f]{0,6}?)"  # lazy: "L0A0[" is line 0, account A0
    r"(?P<acct>(?:#|A)[0-9A-Fa-f]{1,16})?"
    r"\[(?P<rest>.*)\Z",
    re.DOTALL,
)
_CONTENT = re.compile(
    r"(?P<data>[^\[\]]*)\](?P<xdata>(?:\[[^\[\]]*\])*)"
    r"(?P<ts>_[0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{2}-[0-9]{2}-[0-9]{4})?\Z",
    re.DOTALL,
)
_XDATA = re.compile(r"\[([^\[\]]*)\]")


@dataclass(frozen=True, slots=True)
class Dc09Frame:
    """The envelope of one frame; ``rest`` is everything after the first ``[``."""

    crc: int
    length: int
    encrypted: bool
    message_id: str
    sequence: str
    receiver: str | None  # digits after R, or None when absent
    line: str  # digits after L, possibly empty
    account_prefix: str | None  # "#" (or "A" in NAK replies)
    account: str | None
    rest: str
    raw: bytes

    @property
    def route(self) -> str:
        """Receiver and line exactly as sent (``R1L1``, ``L0``, ``L``): echoed in replies."""
        return (f"R{self.receiver}" if self.receiver is not None else "") + f"L{self.line}"


@dataclass(frozen=True, slots=True)
class Dc09Content:
    """Decrypted/plain content: the data block, extended data and timestamp."""

    data: str
    xdata: dict[str, str]
    timestamp: datetime | None


def parse_frame(raw: bytes) -> Dc09Frame:
    """Check CRC and length and split the envelope; raises :class:`Dc09Error` (NAK)."""
    b = raw
    if b.startswith(LF):
        b = b[1:]
    if b.endswith(CR):
        b = b[:-1]
    if len(b) < 9:
        raise Dc09Error("frame too short", "NAK", malformed=True)
    head = b[:8].decode("latin-1")
    if all(c in string.hexdigits for c in head) and b[8:9] == b'"':
        crc_sent, length, body = int(head[:4], 16), int(head[4:], 16), b[8:]
    elif all(c in string.hexdigits for c in b[2:6].decode("latin-1")) and b[6:7] == b'"':
        # Some panels send the CRC as two raw bytes instead of four hex digits.
        crc_sent, length, body = int.from_bytes(b[:2], "big"), int(b[2:6], 16), b[6:]
    else:
        raise Dc09Error("no CRC/length header", "NAK", malformed=True)
    if len(body) != length:
        raise Dc09Error(f"length field {length} but body is {len(body)} bytes", "NAK",
                        malformed=True)
    crc = crc16_arc(body)
    if crc != crc_sent:
        raise Dc09Error(f"CRC {crc_sent:04X} sent, {crc:04X} computed", "NAK")
    m = _HEADER.match(body.decode("latin-1"))
    if m is None:
        raise Dc09Error("malformed message header", "NAK")
    acct = m["acct"]
    rcvr = m["rcvr"]
    return Dc09Frame(
        crc=crc,
        length=length,
        encrypted=bool(m["enc"]),
        message_id=m["id"],
        sequence=m["seq"],
        receiver=rcvr[1:].upper() if rcvr else None,
        line=m["line"][1:].upper(),
        account_prefix=acct[0] if acct else None,
        account=acct[1:].upper() if acct else None,
        rest=m["rest"],
        raw=raw,
    )


_TS = re.compile(r"_([0-9]{2}):([0-9]{2}):([0-9]{2}),([0-9]{2})-([0-9]{2})-([0-9]{4})\Z")


def parse_timestamp(text: str) -> datetime:
    """``_HH:MM:SS,MM-DD-YYYY`` (UTC) to an aware datetime; raises ValueError."""
    m = _TS.match(text)
    if m is None:
        raise ValueError(f"not a DC-09 timestamp: {text!r}")
    hh, mi, ss, mo, dd, yy = (int(g) for g in m.groups())
    return datetime(yy, mo, dd, hh, mi, ss, tzinfo=UTC)


def format_timestamp(when: datetime) -> str:
    """The DC-09 timestamp of ``when`` in UTC."""
    return when.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _win1252(text: str) -> str:
    """Re-read latin-1-decoded text as Windows-1252, how panels write extended data."""
    return text.encode("latin-1").decode("cp1252", errors="replace")


def parse_content(text: str) -> Dc09Content:
    """Split ``data]`` + ``[xdata]...`` + ``_timestamp``; raises :class:`Dc09Error` (DUH)."""
    m = _CONTENT.match(text)
    if m is None:
        raise Dc09Error("malformed data/extended data/timestamp", "DUH")
    xdata: dict[str, str] = {}
    for block in _XDATA.findall(m["xdata"]):
        if not block:
            continue
        letter, value = block[0], _win1252(block[1:])
        xdata[XDATA_NAMES.get(letter, f"x_{letter}")] = value
    ts = None
    if m["ts"]:
        try:
            ts = parse_timestamp(m["ts"])
        except ValueError:
            raise Dc09Error(f"invalid timestamp {m['ts']!r}", "NAK") from None
    return Dc09Content(data=m["data"], xdata=xdata, timestamp=ts)


def strip_pad(plain: str) -> str:
    """Remove the random pad in front of decrypted content (up to ``|``, or up to ``]`` when
    the data is empty and the panel left out the ``|``)."""
    close = plain.find("]")
    bar = plain.find("|")
    if bar != -1 and (close == -1 or bar < close):
        return plain[bar + 1 :]
    if close != -1:
        return plain[close:]
    raise Dc09Error("decrypted content has no data terminator (wrong key?)", "DUH")


def open_content(frame: Dc09Frame, key: Dc09Key | None) -> Dc09Content:
    """Decrypt (when the frame is encrypted) and split the content; raises :class:`Dc09Error`.

    Used by the receiver on panel messages and by panel simulators on the receiver's replies.
    """
    if not frame.encrypted:
        return parse_content(frame.rest)
    if key is None:
        raise Dc09Error("encrypted frame but no key", "DUH")
    text = decrypt(key, frame.rest).decode("latin-1")
    if any(not (32 <= ord(c) < 127) for c in text):
        raise Dc09Error("decrypted content is not text (wrong key?)", "DUH")
    content = parse_content(strip_pad(text))
    if content.timestamp is None:
        raise Dc09Error("encrypted message without timestamp", "NAK")
    return content


def build_message(
    message_id: str,
    sequence: int | str,
    account: str,
    data: str,
    *,
    line: str = "0",
    receiver: str | None = None,
    xdata: str = "",
    now: datetime | None = None,
    key: Dc09Key | None = None,
    pad: Callable[[int], str] = random_pad,
) -> bytes:
    """A panel's message (for panel simulators and tests): ``data`` is what goes inside the
    brackets (``#acct|NBA01``), ``xdata`` ready-made ``[X...]`` blocks; with ``key`` the
    content is encrypted (then ``now`` is required, encrypted messages carry a timestamp)."""
    seq = f"{int(sequence) % 10000:04d}" if isinstance(sequence, int) else sequence
    route = (f"R{receiver}" if receiver is not None else "") + f"L{line}"
    head = f"{seq}{route}#{account}["
    ts = format_timestamp(now) if now is not None else ""
    if key is None:
        return build_frame(f'"{message_id}"{head}{data}]{xdata}{ts}')
    if now is None:
        raise ValueError("an encrypted message needs the time")
    tail = f"|{data}]{xdata}{ts}"
    plain = (pad((-len(tail)) % 16 or 16) + tail).encode("latin-1")
    return build_frame(f'"*{message_id}"{head}{encrypt(key, plain)}')


def build_frame(body: str) -> bytes:
    """Wrap a message body in LF, CRC, length and CR."""
    raw = body.encode("latin-1")
    return b"\n" + f"{crc16_arc(raw):04X}{len(raw):04X}".encode("ascii") + raw + b"\r"


def _account_part(frame: Dc09Frame) -> str:
    return f"#{frame.account}" if frame.account is not None else ""


def build_ack(
    frame: Dc09Frame,
    *,
    key: Dc09Key | None = None,
    now: datetime | None = None,
    pad: Callable[[int], str] = random_pad,
) -> bytes:
    """ACK echoing sequence, receiver, line and account; encrypted (``*ACK``, with our
    timestamp inside) when ``key`` is given, i.e. when the panel's message was encrypted."""
    head = f"{frame.sequence}{frame.route}{_account_part(frame)}["
    if key is None:
        return build_frame(f'"ACK"{head}]')
    if now is None:
        raise ValueError("an encrypted ACK needs the time")
    tail = "|]" + format_timestamp(now)
    pad_len = (-len(tail)) % 16 or 16
    plain = (pad(pad_len) + tail).encode("ascii")
    return build_frame(f'"*ACK"{head}{encrypt(key, plain)}')


def build_nak(now: datetime) -> bytes:
    """NAK: never encrypted, carries the receiver's time so the panel can set its clock."""
    return build_frame(f'"NAK"0000R0L0A0[]{format_timestamp(now)}')


def build_duh(frame: Dc09Frame | None) -> bytes:
    """DUH ("cannot process"): echoes sequence, receiver, line and account when known."""
    if frame is None:
        return build_frame('"DUH"0000R0L0A0[]')
    return build_frame(f'"DUH"{frame.sequence}{frame.route}{_account_part(frame)}[]')


# --- SIA-DCS and ADM-CID data -----------------------------------------------------------------

_SIA_MODIFIER = re.compile(r"([a-z]{2})([0-9:\-]*)")
_SIA_EVENT = re.compile(r"([A-Z]{2})([0-9A-Za-z]*)(?:\^([^^]*)\^)?")
_ADM_EVENT = re.compile(r"([136])([0-9A-Fa-f]{3}) ?([0-9A-Fa-f]{2}) ?([0-9A-Fa-f]{3})\Z")
_ACCOUNT_BLOCK = re.compile(r"#([0-9A-Fa-f]{1,16})\Z")


@dataclass(frozen=True, slots=True)
class SiaEvent:
    """One event of a SIA DC-03 data block."""

    code: str
    number: str | None
    partition: str | None
    user: str | None
    text: str | None
    modifiers: dict[str, str] = field(default_factory=dict)


def _split_blocks(data: str) -> tuple[str | None, list[str]]:
    """Account block (``#acct``) and the remaining ``|``-separated blocks."""
    blocks = data.split("|") if data else []
    account = None
    if blocks and blocks[0].startswith("#"):
        m = _ACCOUNT_BLOCK.match(blocks[0])
        if m is None:
            raise Dc09Error(f"malformed account block {blocks[0]!r}", "DUH")
        account = m[1].upper()
        blocks = blocks[1:]
    return account, blocks


def parse_sia_data(data: str) -> tuple[str | None, list[SiaEvent], str | None]:
    """Decode SIA DC-03 data (``#acct|Nri1/BA01|Atext``): account, events, ASCII text."""
    account, blocks = _split_blocks(data)
    events: list[SiaEvent] = []
    texts: list[str] = []
    for block in blocks:
        if not block:
            continue
        kind, body = block[0], block[1:]
        if kind == "A":
            texts.append(_win1252(body))
            continue
        if kind not in ("N", "O"):
            raise Dc09Error(f"unknown SIA data block {block[:10]!r}", "DUH")
        modifiers: dict[str, str] = {}
        for element in body.split("/"):
            pos = 0
            while (m := _SIA_MODIFIER.match(element, pos)) and m.end() > pos:
                modifiers[m[1]] = m[2]
                pos = m.end()
            if pos == len(element):
                continue  # modifiers only: they apply to the events that follow
            ev = _SIA_EVENT.match(element, pos)
            if ev is None or ev.end() != len(element):
                raise Dc09Error(f"malformed SIA event {element[:20]!r}", "DUH")
            events.append(
                SiaEvent(
                    code=ev[1],
                    number=ev[2] or None,
                    partition=modifiers.get("ri"),
                    user=modifiers.get("id"),
                    text=_win1252(ev[3]) if ev[3] is not None else None,
                    modifiers=dict(modifiers),
                )
            )
    return account, events, (" ".join(texts) if texts else None)


def parse_adm_data(data: str) -> tuple[str | None, tuple[str, str, str, str]]:
    """Decode ADM-CID data (``#acct|QEEE GG ZZZ``): account and (Q, EEE, GG, ZZZ)."""
    account, blocks = _split_blocks(data)
    if len(blocks) != 1:
        raise Dc09Error("ADM-CID data must hold exactly one event", "DUH")
    m = _ADM_EVENT.match(blocks[0])
    if m is None:
        raise Dc09Error(f"malformed ADM-CID event {blocks[0][:20]!r}", "DUH")
    return account, (m[1], m[2].upper(), m[3].upper(), m[4].upper())


# --- the decision function --------------------------------------------------------------------


@dataclass(frozen=True)
class Dc09Config:
    """Receiver settings: keys per account, a default key, the timestamp window and what each
    account must send (encryption, a timestamp)."""

    receiver: str = "dc09"
    keys: Mapping[str, Dc09Key] = field(default_factory=dict)
    default_key: Dc09Key | None = None
    window_ahead: timedelta = timedelta(seconds=20)
    window_behind: timedelta = timedelta(seconds=40)
    check_timestamp: bool = True
    # A panel with its own key must encrypt; a plain message for it is refused (DUH).
    require_encryption_for_keyed_accounts: bool = True
    # Every account must encrypt / send a timestamp (a receiver that takes no plain text).
    require_encryption: bool = False
    require_timestamp: bool = False
    # Accounts that must send a timestamp even in plain text (keyed accounts always must).
    timestamp_accounts: frozenset[str] = frozenset()
    # A header account other than the data block's is a relay (another receiver forwarding
    # its panels); refused unless allowed, and then the data account's rules apply.
    allow_relayed_accounts: bool = False

    def key_for(self, account: str | None) -> Dc09Key | None:
        if account is not None and account in self.keys:
            return self.keys[account]
        return self.default_key

    def must_encrypt(self, account: str) -> bool:
        return self.require_encryption or (
            self.require_encryption_for_keyed_accounts and account in self.keys)

    def must_timestamp(self, account: str) -> bool:
        return (self.require_timestamp or account in self.timestamp_accounts
                or self.must_encrypt(account))


class Dc09Receiver:
    """Pure decisions for one DC-09 receiver: frame in, signals and reply out."""

    def __init__(self, config: Dc09Config, pad: Callable[[int], str] = random_pad) -> None:
        self.config = config
        self._pad = pad

    def handle(self, raw: bytes, now: datetime, log_rejection: bool = True) -> Outcome:
        """Decode one frame received at ``now``; never raises. ``log_rejection=False`` when
        the transport holds back this sender's rejections (it is over its budget)."""
        try:
            return self._handle(raw, now, log_rejection)
        except Exception as exc:  # noqa: BLE001 - a codec must answer whatever it gets
            log.exception("dc09: internal error on %r", raw[:200])
            return Rejected(f"internal error: {exc!r}", build_nak(now))

    def _reject(self, raw: bytes, reason: str, reply: bytes, loud: bool,
                malformed: bool = False) -> Rejected:
        if loud:
            log.warning("dc09 %s: rejected %r: %s", self.config.receiver, raw[:200], reason)
        return Rejected(reason, reply, malformed)

    def _handle(self, raw: bytes, now: datetime, loud: bool = True) -> Outcome:
        try:
            frame = parse_frame(raw)
        except Dc09Error as exc:
            return self._reject(raw, exc.reason, build_nak(now), loud, exc.malformed)
        try:
            return self._handle_frame(frame, now)
        except Dc09Error as exc:
            reply = build_nak(now) if exc.reply == "NAK" else build_duh(frame)
            return self._reject(raw, exc.reason, reply, loud)

    def _handle_frame(self, frame: Dc09Frame, now: datetime) -> Outcome:
        if frame.message_id not in MESSAGE_IDS:
            raise Dc09Error(f"unsupported message id {frame.message_id!r}", "DUH")
        if frame.account_prefix not in (None, "#"):
            raise Dc09Error("account must follow '#'", "DUH")
        key: Dc09Key | None = None
        if frame.encrypted:
            key = self.config.key_for(frame.account)
            if key is None:
                raise Dc09Error(f"encrypted message but no key for {frame.account}", "DUH")
        content = open_content(frame, key)
        account = self._check_accounts(frame, content)
        if self.config.check_timestamp and content.timestamp is not None:
            earliest = now - self.config.window_behind
            latest = now + self.config.window_ahead
            if not earliest <= content.timestamp <= latest:
                raise Dc09Error(
                    f"timestamp {content.timestamp.isoformat()} outside window at "
                    f"{now.astimezone(UTC).isoformat()}",
                    "NAK",
                )
        ack = build_ack(frame, key=key, now=now, pad=self._pad)
        if frame.message_id == "NULL":
            return Accepted((), ack, link_test=True)
        if account is None:
            raise Dc09Error("no account in message", "DUH")
        signals = self._signals(frame, content, account, now)
        return Accepted(tuple(signals), ack)

    def _check_accounts(self, frame: Dc09Frame, content: Dc09Content) -> str | None:
        """The account the message's signals belong to, after the rules of every account it
        names: the header's (whose key opened it) and the data block's (where the signals are
        stored). A plain frame must not reach an account that has to encrypt."""
        data_account = None
        if frame.message_id != "NULL":
            data_account, _ = _split_blocks(content.data)
        named = [a for a in (frame.account, data_account) if a is not None]
        if len(set(named)) > 1 and not self.config.allow_relayed_accounts:
            raise Dc09Error(f"data account {data_account} differs from header account "
                            f"{frame.account}", "DUH")
        for account in dict.fromkeys(named):
            if not frame.encrypted and self.config.must_encrypt(account):
                raise Dc09Error(f"account {account} must encrypt but sent plain text", "DUH")
            if content.timestamp is None and self.config.must_timestamp(account):
                raise Dc09Error(f"account {account} must send a timestamp", "NAK")
        return data_account or frame.account

    def _signals(self, frame: Dc09Frame, content: Dc09Content, account: str,
                 now: datetime) -> list[Signal]:
        # Whether the panel encrypted is kept with every signal: the admin page lists the
        # accounts that still report in plain text (receivers.http, dc09-plaintext).
        xdata = {**content.xdata, "encrypted": "yes" if frame.encrypted else "no"}
        common = {
            "received_at": now,
            "receiver": self.config.receiver,
            "line": frame.route,
            "protocol": "dc09",
            "panel_time": content.timestamp,
            "raw": frame.raw,
        }
        if frame.message_id == "ADM-CID":
            _, (q, code, group, number) = parse_adm_data(content.data)
            msg = contact_id.ContactIdMessage(
                account=account,
                message_type="18",
                qualifier=contact_id.QUALIFIERS[q],
                event_code=code,
                group=group,
                number=number,
            )
            return [
                contact_id.to_signal(
                    msg,
                    sequence=frame.sequence,
                    extra=dict(xdata),
                    **common,  # type: ignore[arg-type]
                )
            ]
        _, events, text = parse_sia_data(content.data)
        if not events:
            raise Dc09Error("SIA data holds no event", "DUH")
        signals = []
        for i, ev in enumerate(events, start=1):
            extra = dict(xdata)
            ev_text = " ".join(t for t in (ev.text, text) if t)
            if ev_text:
                extra["text"] = " ".join(t for t in (extra.get("text"), ev_text) if t)
            for mod, value in ev.modifiers.items():
                if mod not in ("ri", "id"):
                    extra[f"sia_{mod}"] = value
            zone, user = None, ev.user
            concerns = event_codes.sia(ev.code).concerns
            if concerns == "zone":
                zone = ev.number
            elif concerns == "user":
                user = ev.number or user
            elif ev.number is not None:
                extra["number"] = ev.number
            signals.append(
                Signal(
                    account=account,
                    event_code=ev.code,
                    event_system="sia",
                    qualifier=event_codes.sia_qualifier(ev.code),
                    partition=ev.partition,
                    zone=zone,
                    user=user,
                    # several events in one message share its sequence number
                    sequence=frame.sequence if i == 1 else f"{frame.sequence}.{i}",
                    extra=extra,
                    **common,  # type: ignore[arg-type]
                )
            )
        return signals


# --- stream framing ---------------------------------------------------------------------------


def split_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Cut complete ``LF ... CR`` frames out of a TCP stream buffer.

    Returns the frames (with LF and CR) and the unfinished remainder. Bytes before a frame's
    LF are dropped; an over-long run without CR is returned as a frame so that it gets a NAK.
    """
    frames: list[bytes] = []
    while True:
        end = buffer.find(CR)
        if end == -1:
            if len(buffer) > MAX_FRAME:
                frames.append(buffer)
                buffer = b""
            return frames, buffer
        chunk, buffer = buffer[: end + 1], buffer[end + 1 :]
        start = chunk.rfind(LF)
        frames.append(chunk[start:] if start != -1 else chunk)
