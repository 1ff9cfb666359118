"""What a caller hears and presses: prompts played by name for a looked-up duration, DTMF sent
by one side and received by the other, digits collected with timeouts.

There is no audio; a prompt is a timer, a keypress is a callback. Durations come from
``engine.prompt_duration`` (injectable: a real IVR's prompt lengths, or a fixed default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .channels import Channel

if TYPE_CHECKING:
    from .core import Engine

DEFAULT_PROMPT_SECONDS = 1.0
DTMF_DURATION = 0.1  # what Asterisk reports for a Local channel's received digit
SAMPLE_RATE = 8000
DigitSink = Callable[[str], None]


def fixed_duration(name: str) -> float | None:
    """Default lookup: every prompt exists and lasts one second."""
    return DEFAULT_PROMPT_SECONDS


def number_prompts(number: int) -> list[str]:
    """The prompts Asterisk's English say.c plays for a number (digits/N, hundred, thousand)."""
    if number < 0:
        return ["digits/minus", *number_prompts(-number)]
    if number == 0:
        return ["digits/0"]
    out: list[str] = []
    for size, word in ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand")):
        if number >= size:
            out += number_prompts(number // size) + [f"digits/{word}"]
            number %= size
    if number >= 100:
        out += [f"digits/{number // 100}", "digits/hundred"]
        number %= 100
    if number >= 20:
        out.append(f"digits/{number // 10 * 10}")
        number %= 10
    if number:
        out.append(f"digits/{number}")
    return out


class Media:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- DTMF -------------------------------------------------------------------------------
    def receiver(self, sender: Channel) -> Channel | None:
        """Who hears a digit ``sender`` sends: its Local other half, else its bridge peer."""
        if sender.local_peer is not None and not sender.local_peer.dead:
            return sender.local_peer
        return self.engine.bridge_peer(sender)

    def send_dtmf(self, sender: Channel, digits: str, gap: float = 0.25,
                  done: Callable[[], None] | None = None) -> float:
        """Send ``digits`` (SendDTMF's ``gap`` between tones); returns how long it takes."""
        t = 0.0
        for d in digits:
            if d.lower() == "w":
                t += 0.5
                continue
            self.engine.later(t, self._dtmf_begin, sender, d)
            t += DTMF_DURATION + gap
        if done is not None:
            self.engine.later(t, done)
        return t

    def press(self, ch: Channel, digit: str) -> None:
        """A digit arrives on ``ch`` from outside (a caller script, the console)."""
        self._receive_begin(ch, digit)

    def _dtmf_begin(self, sender: Channel, digit: str) -> None:
        if sender.dead:
            return
        target = self.receiver(sender)
        if target is not None and not target.dead:
            self._receive_begin(target, digit)

    def _receive_begin(self, ch: Channel, digit: str) -> None:
        self.engine.chan_event("DTMFBegin", ch, [("Digit", digit), ("Direction", "Received")],
                               "dtmf,all")
        self.engine.later(DTMF_DURATION, self._receive_end, ch, digit)

    def _receive_end(self, ch: Channel, digit: str) -> None:
        self.receive_end(ch, digit, int(DTMF_DURATION * 1000))

    def receive_end(self, ch: Channel, digit: str, duration_ms: int) -> None:
        """The end of a digit read on ``ch``: DTMFEnd (Received), then whoever listens."""
        if ch.dead:
            return
        self.engine.chan_event("DTMFEnd", ch, [
            ("Digit", digit), ("DurationMs", str(duration_ms)),
            ("Direction", "Received")], "dtmf,all")
        sink: DigitSink | None = ch.extra.get("dtmf_sink")
        if sink is not None:
            sink(digit)

    # -- prompts ----------------------------------------------------------------------------
    def duration(self, name: str) -> float | None:
        return self.engine.prompt_duration(name)

    def play(self, ch: Channel, prompts: list[str], escape: str,
             done: Callable[[str, int], None]) -> Callable[[], int]:
        """Play prompts one after another; a digit in ``escape`` stops them. ``done`` gets the
        digit ('' when played to the end) and the sample offset reached. Returns a canceller
        giving the offset reached so far (for a hangup mid-prompt)."""
        eng = self.engine
        total = sum(self.duration(p) or 0.0 for p in prompts)
        started = eng.sched.now()
        st: dict[str, Any] = {"timer": None, "over": False}

        def offset() -> int:
            return int(min(total, eng.sched.now() - started) * SAMPLE_RATE)

        def finish(digit: str) -> None:
            if st["over"]:
                return
            st["over"] = True
            if st["timer"] is not None:
                st["timer"].cancel()
            if ch.extra.get("dtmf_sink") is on_digit:
                ch.extra.pop("dtmf_sink", None)
            done(digit, offset() if digit else int(total * SAMPLE_RATE))

        def on_digit(d: str) -> None:
            if d in escape:
                finish(d)

        def cancel() -> int:
            st["over"] = True
            if st["timer"] is not None:
                st["timer"].cancel()
            if ch.extra.get("dtmf_sink") is on_digit:
                ch.extra.pop("dtmf_sink", None)
            return offset()

        ch.extra["dtmf_sink"] = on_digit
        st["timer"] = eng.later(total, finish, "")
        return cancel

    def collect(self, ch: Channel, first: str, maxdigits: int, timeout: float,
                done: Callable[[str, bool], None]) -> Callable[[], None]:
        """Read digits after ``first`` until ``maxdigits``, '#', or ``timeout`` s without a
        key; ``done(digits, timed_out)``. Returns a canceller."""
        eng = self.engine
        st: dict[str, Any] = {"digits": "", "timer": None, "over": False}

        def finish(timed_out: bool) -> None:
            if st["over"]:
                return
            st["over"] = True
            if st["timer"] is not None:
                st["timer"].cancel()
            if ch.extra.get("dtmf_sink") is on_digit:
                ch.extra.pop("dtmf_sink", None)
            done(st["digits"], timed_out)

        def on_digit(d: str) -> None:
            if st["over"]:
                return
            if d == "#":
                finish(False)
                return
            st["digits"] += d
            if len(st["digits"]) >= maxdigits:
                finish(False)
                return
            arm()

        def arm() -> None:
            if st["timer"] is not None:
                st["timer"].cancel()
            st["timer"] = eng.later(timeout, finish, True)

        def cancel() -> None:
            st["over"] = True
            if st["timer"] is not None:
                st["timer"].cancel()
            if ch.extra.get("dtmf_sink") is on_digit:
                ch.extra.pop("dtmf_sink", None)

        ch.extra["dtmf_sink"] = on_digit
        if first:
            on_digit(first)
            if st["over"]:
                return cancel
        else:
            arm()
        return cancel
