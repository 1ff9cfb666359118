"""A small declarative layer so a flow reads like the call it describes.

A :class:`Call` carries the channel, the caller's language and the path taken so far; prompts are
played by catalogue name; a :class:`Menu` maps keys to the next step and owns retries, invalid
keys and silence; :class:`Collect` gathers a number (account, PIN, hours) the same way.

Barge-in and type-ahead, as VoiceXML has them: every prompt plays with escape digits (``STREAM
FILE name "0123456789*#"``), so a caller who knows what they want need not wait for the menu. The
key that cut a prompt short is kept (:attr:`Call.typed`) for the next question -- a menu takes it
as its choice, a number as its first digit -- and the prompts in between are skipped, since the
caller is already answering. Keys pressed while nothing plays are lost, as on Asterisk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from ivr import prompts, spoken
from ivr.channel import AgiChannel
from ivr.deps import IvrDeps
from ivr.ports import Subscriber
from ivr.prompts import Lang

T = TypeVar("T")
Step = Callable[["Call"], Awaitable[None]]
ALL_KEYS = "0123456789*#"


@dataclass
class Call:
    """One caller in the IVR."""

    channel: AgiChannel
    deps: IvrDeps
    route: str
    lang: Lang = "zh-CN"
    path: list[str] = field(default_factory=list)
    step: str = "start"
    subscriber: Subscriber | None = None
    known_account: int | None = None
    pin_ok: bool = False
    outcome: str | None = None
    done: bool = False
    back: bool = False
    notes: list[str] = field(default_factory=list)
    typed: str = ""  # a key that cut a prompt short, for the next question

    @property
    def caller(self) -> str:
        return self.channel.caller_id

    def at(self, step: str) -> None:
        """Mark where the caller is; the session log keeps the path and the last step."""
        self.step = step
        self.path.append(step)

    def finish(self, outcome: str, done: bool = True) -> None:
        """Record what the call achieved; ``done`` ends the menus (queued, hung up, ...)."""
        self.outcome = outcome
        self.done = self.done or done

    @property
    def account_id(self) -> int | None:
        """The caller's account: identified here, or told by the dialplan (``ivr/message``)."""
        return self.subscriber.account_id if self.subscriber else self.known_account

    @property
    def path_text(self) -> str:
        return ">".join(self.path)

    async def say(self, *names: str, lang: Lang | None = None) -> str | None:
        """Play prompts in order, any key cutting them short (barge-in); that key is kept for
        the next question and returned. Nothing is played while a typed key waits."""
        for name in names:
            if self.typed:
                return None
            file = prompts.sound_file(name, lang or self.lang)
            key = await self.channel.stream_file(file, ALL_KEYS)
            if key:
                self.typed = key
                return key
        return None

    async def say_digits(self, digits: str) -> None:
        """A digit string (an account number) in the caller's language, digit by digit."""
        await self.say(*spoken.digits(digits))

    async def say_quantity(self, n: int, unit: str) -> None:
        """A count with its unit: ``unit-hours``, ``unit-minutes`` or ``ago-*``."""
        await self.say(*spoken.quantity(n, unit, self.lang))

    async def say_number(self, n: int) -> None:
        await self.say(*spoken.number(n, self.lang))

    async def say_ago(self, elapsed: timedelta) -> None:
        await self.say(*spoken.ago(elapsed, self.lang))

    def take_typed(self) -> str:
        typed, self.typed = self.typed, ""
        return typed

    async def ask(self, name: str, max_digits: int, timeout_ms: int | None = None) -> tuple[
            str, bool]:
        """Play a prompt and collect up to ``max_digits`` keys (``#`` ends early). Keys typed
        during earlier prompts are the answer's start: the prompt is not played, and the
        rest is read with ``GET DATA`` and no prompt."""
        timeout = timeout_ms or self.deps.settings.digit_timeout_ms
        typed = self.take_typed()
        if not typed:
            got = await self.channel.get_data(prompts.sound_file(name, self.lang), timeout,
                                              max_digits)
            return got.digits, got.timed_out
        if max_digits == 1:
            return typed, False
        if typed == "#":  # '#' first: an empty answer, as GET DATA gives it
            return "", False
        got = await self.channel.get_data("", timeout, max_digits - 1)
        return typed + got.digits, got.timed_out

    async def set_language(self, lang: Lang) -> None:
        self.lang = lang
        await self.channel.set_variable("CHANNEL(language)", prompts.ASTERISK_LANGUAGE[lang])


@dataclass(frozen=True)
class Menu:
    """Keys to steps. Unknown keys play ``invalid``, silence ``no_input``; after ``attempts``
    tries the call goes to ``fallback`` (or the menu gives up and returns). With ``on_silence``
    a caller who presses nothing goes there at once ("or hold for an operator")."""

    prompt: str
    options: Mapping[str, Step]
    labels: Mapping[str, str] = field(default_factory=dict)
    fallback: Step | None = None
    on_silence: Step | None = None
    invalid: str = "invalid"
    no_input: str = "no-input"
    attempts: int | None = None
    name: str = ""

    async def run(self, call: Call) -> None:
        attempts = self.attempts or call.deps.settings.menu_attempts
        call.at(self.name or self.prompt)
        for _ in range(attempts):
            key, _timed_out = await call.ask(self.prompt, 1, call.deps.settings.menu_timeout_ms)
            if key in self.options:
                call.at(self.labels.get(key, key))
                await self.options[key](call)
                return
            if not key and self.on_silence is not None:
                call.at("no-input")
                await self.on_silence(call)
                return
            await call.say(self.invalid if key else self.no_input)
        if self.fallback is not None:
            call.at("fallback")
            await self.fallback(call)


@dataclass(frozen=True)
class Collect:
    """Ask for a number until it is acceptable: ``accept`` turns digits into a value or None.
    A wrong entry plays ``invalid``; after ``attempts`` tries the result is None."""

    prompt: str
    max_digits: int
    invalid: str = "invalid"
    no_input: str = "no-input"
    attempts: int | None = None
    timeout_ms: int | None = None

    async def run(self, call: Call, accept: Callable[[str], Awaitable[T | None]]) -> T | None:
        attempts = self.attempts or call.deps.settings.menu_attempts
        for _ in range(attempts):
            digits, _timed_out = await call.ask(self.prompt, self.max_digits, self.timeout_ms)
            if not digits:
                await call.say(self.no_input)
                continue
            value = await accept(digits)
            if value is not None:
                return value
            await call.say(self.invalid)
        return None


def number_between(low: int, high: int) -> Callable[[str], Awaitable[int | None]]:
    """An ``accept`` for :class:`Collect`: a whole number in ``[low, high]``."""

    async def accept(digits: str) -> int | None:
        if not digits.isdigit():
            return None
        value = int(digits)
        return value if low <= value <= high else None

    return accept
