"""The prompt catalogue and its rendering to Asterisk's wav format."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest

from ivr import prompts
from ivr.render_prompts import RATE, to_asterisk_wav


def test_every_prompt_has_both_languages_and_a_duration() -> None:
    for p in prompts.CATALOGUE.values():
        for lang in prompts.LANGUAGES:
            assert p.text(lang).strip() and p.seconds(lang) > 0, (p.name, lang)
    assert prompts.sound_file("main-menu", "en") == "vigil/en/main-menu"
    with pytest.raises(KeyError):
        prompts.sound_file("no-such-prompt", "en")


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
