"""The prompt catalogue, its rendering to Asterisk's wav format, and numbers said with it."""

from __future__ import annotations

import io
import math
import shutil
import struct
import wave
from datetime import timedelta
from pathlib import Path

import pytest

from ivr import prompts, spoken
from ivr.render_prompts import RATE, TOLERANCE_S, render, seconds_module, to_asterisk_wav


def test_every_prompt_has_its_languages_and_a_duration() -> None:
    for p in prompts.CATALOGUE.values():
        assert p.languages, p.name
        for lang in p.languages:
            assert (p.text(lang) or "").strip() and (p.seconds(lang) or 0) > 0, (p.name, lang)
    # everything but the words of numbers exists in both languages
    for p in prompts.CATALOGUE.values():
        if not p.name.startswith(("num-", "ago-", "unit-")):
            assert p.languages == prompts.LANGUAGES, p.name
    assert prompts.sound_file("main-menu", "en") == "vigil/en/main-menu"
    with pytest.raises(KeyError):
        prompts.sound_file("no-such-prompt", "en")
    with pytest.raises(KeyError, match="no en version"):
        prompts.sound_file("num-10000", "en")


def test_the_first_prompts_are_short_and_put_the_emergency_first() -> None:
    for lang in prompts.LANGUAGES:
        welcome = prompts.CATALOGUE["welcome"]
        assert "1" in (welcome.text(lang) or "")
        assert (welcome.seconds(lang) or 99) < 5
        for menu in ("main-menu", "services-menu"):
            assert (prompts.CATALOGUE[menu].seconds(lang) or 99) < 10, (menu, lang)


def test_rendering_resamples_to_8khz_and_keeps_duration() -> None:
    src = io.BytesIO()
    with wave.open(src, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 10)))
                               for i in range(22050 * 2)))
    audio, seconds = to_asterisk_wav(src.getvalue())
    with wave.open(io.BytesIO(audio)) as out:
        assert (out.getframerate(), out.getnchannels(), out.getsampwidth()) == (RATE, 1, 2)
    assert abs(seconds - 2.0) < 0.01


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="espeak-ng is not installed (Debian: apt-get install espeak-ng)")
def test_the_durations_pbxsim_plays_are_the_rendered_ones(tmp_path: Path) -> None:
    rows = render(tmp_path)
    assert len(rows) == sum(len(p.languages) for p in prompts.CATALOGUE.values())
    drift = [r for r in rows if r["catalogue"] is None
             or abs(float(str(r["seconds"])) - float(str(r["catalogue"]))) > TOLERANCE_S]
    assert drift == [], "run `python -m ivr.render_prompts --update`"
    assert (tmp_path / "zh-CN" / "digit-8.wav").is_file()
    assert not (tmp_path / "en" / "num-10000.wav").exists()
    assert "SECONDS: dict[str, dict[str, float]] = {" in seconds_module(rows)


def words(n: int, lang: prompts.Lang, count: bool = False) -> str:
    """The prompts' texts joined: what the caller hears."""
    sep = "" if lang == "zh-CN" else " "
    return sep.join(prompts.CATALOGUE[p].text(lang) or "?" for p in spoken.number(n, lang, count))


@pytest.mark.parametrize("n, zh, en", [
    (0, "零", "zero"), (1, "一", "one"), (2, "二", "two"), (10, "十", "ten"),
    (15, "十五", "fifteen"), (20, "二十", "twenty"), (72, "七十二", "seventy two"),
    (101, "一百零一", "one hundred one"), (110, "一百一十", "one hundred ten"),
    (1010, "一千零一十", "one thousand ten"), (2000, "两千", "two thousand"),
    (22000, "两万二千", "twenty two thousand"), (222, "二百二十二", "two hundred twenty two"),
    (10015, "一万零一十五", "ten thousand fifteen"),
    (123456, "十二万三千四百五十六", "one hundred twenty three thousand four hundred fifty six"),
])
def test_numbers_are_said_as_people_say_them(n: int, zh: str, en: str) -> None:
    assert words(n, "zh-CN") == zh
    assert words(n, "en") == en


def test_counts_digits_and_time_ago() -> None:
    assert words(2, "zh-CN", count=True) == "两"  # 两小时, not 二小时
    assert spoken.quantity(1, "unit-hours", "en") == ["digit-1", "unit-hour"]
    assert spoken.quantity(1, "unit-hours", "zh-CN") == ["num-1", "unit-hours"]
    assert spoken.digits("8801") == ["digit-8", "digit-8", "digit-0", "digit-1"]
    assert prompts.CATALOGUE["digit-1"].zh == "幺"  # digit strings say 1 as 幺
    assert spoken.ago(timedelta(seconds=20), "en") == ["digit-1", "ago-minute"]
    assert spoken.ago(timedelta(minutes=90), "zh-CN") == ["num-1", "ago-hours"]
    assert spoken.ago(timedelta(hours=47), "en") == ["num-40", "digit-7", "ago-hours"]
    assert spoken.ago(timedelta(days=3, hours=5), "zh-CN") == ["digit-3", "ago-days"]
    with pytest.raises(ValueError):
        spoken.number(-1, "en")


@pytest.mark.parametrize("lang", prompts.LANGUAGES)
def test_every_number_the_ivr_may_say_has_its_prompts(lang: prompts.Lang) -> None:
    for n in [*range(0, 2000), 9999, 10000, 10001, 99999, 100000, 999999]:
        for name in spoken.number(n, lang) + spoken.quantity(n, "ago-days", lang):
            assert prompts.CATALOGUE[name].text(lang), (n, name)
