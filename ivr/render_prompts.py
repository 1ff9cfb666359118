"""Render the prompt catalogue to audio with espeak-ng (Debian package ``espeak-ng``).

    python -m ivr.render_prompts [--out asterisk-config/sounds] [--check | --update]

writes ``<out>/<lang>/<name>.wav`` as Asterisk's ``wav`` format wants it (8 kHz, mono, 16-bit)
for each language a prompt has, prints a JSON summary with each prompt's real duration, and with
``--check`` exits 1 when a catalogue duration is off by more than 0.3 s; ``--update`` rewrites
:mod:`ivr.prompt_seconds` with the rendered durations (after a text change). The output folder
gets a ``.gitignore`` of ``*``: rendered audio is built, never committed.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import warnings
import wave
from pathlib import Path

from ivr.prompts import CATALOGUE, LANGUAGES, Lang

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # stdlib up to 3.12; the PyPI package audioop-lts provides it after that

VOICES: dict[Lang, str] = {"zh-CN": "cmn", "en": "en-us"}
# espeak-ng reads each Chinese character as a word; faster keeps zh prompts natural in length.
SPEED_WPM: dict[Lang, int] = {"zh-CN": 230, "en": 170}
RATE = 8000
TOLERANCE_S = 0.3


def synthesize(text: str, lang: Lang, espeak: str = "espeak-ng") -> bytes:
    """espeak-ng's WAV output for ``text``."""
    args = [espeak, "-v", VOICES[lang], "-s", str(SPEED_WPM[lang]), "--stdout", text]
    done = subprocess.run(args, check=True, capture_output=True)
    return done.stdout


def to_asterisk_wav(wav: bytes) -> tuple[bytes, float]:
    """Resample a mono 16-bit WAV to 8 kHz; the new file and its duration in seconds."""
    with wave.open(io.BytesIO(wav)) as src:
        if src.getsampwidth() != 2 or src.getnchannels() != 1:
            raise ValueError("espeak-ng gave something other than mono 16-bit audio")
        rate = src.getframerate()
        frames = src.readframes(src.getnframes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        converted, _ = audioop.ratecv(frames, 2, 1, rate, RATE, None)
    out = io.BytesIO()
    with wave.open(out, "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(RATE)
        dst.writeframes(converted)
    return out.getvalue(), len(converted) / 2 / RATE


SECONDS_MODULE = Path(__file__).with_name("prompt_seconds.py")


def render(out_dir: Path) -> list[dict[str, object]]:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ".gitignore").write_text("*\n")
    rows: list[dict[str, object]] = []
    for lang in LANGUAGES:
        (out_dir / lang).mkdir(exist_ok=True)
        for prompt in CATALOGUE.values():
            text = prompt.text(lang)
            if text is None:
                continue
            audio, seconds = to_asterisk_wav(synthesize(text, lang, espeak))
            (out_dir / lang / f"{prompt.name}.wav").write_bytes(audio)
            rows.append({"name": prompt.name, "lang": lang, "seconds": round(seconds, 2),
                         "catalogue": prompt.seconds(lang)})
    return rows


def seconds_module(rows: list[dict[str, object]]) -> str:
    """The source of :mod:`ivr.prompt_seconds` for the rendered durations (0.1 s)."""
    table: dict[str, dict[str, float]] = {}
    for r in rows:
        table.setdefault(str(r["name"]), {})[str(r["lang"])] = round(float(str(r["seconds"])), 1)
    lines = ['"""Rendered durations of the prompts in seconds, per language: written by',
             '``python -m ivr.render_prompts --update``; do not edit by hand."""', "",
             "SECONDS: dict[str, dict[str, float]] = {"]
    for name in sorted(table):
        langs = ", ".join(f"{lang!r}: {sec}" for lang, sec in sorted(table[name].items()))
        lines.append(f"    {name!r}: {{{langs}}},")
    lines.append("}")
    return "\n".join(lines).replace("'", '"') + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("asterisk-config/sounds"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if a catalogue duration is off by more than 0.3 s")
    mode.add_argument("--update", action="store_true",
                      help="rewrite ivr/prompt_seconds.py with the rendered durations")
    args = parser.parse_args(argv)
    rows = render(args.out)
    if args.update:
        SECONDS_MODULE.write_text(seconds_module(rows), encoding="utf-8")
    drift = [r for r in rows
             if r["catalogue"] is None
             or abs(float(str(r["seconds"])) - float(str(r["catalogue"]))) > TOLERANCE_S]
    print(json.dumps({"rendered": len(rows), "out": str(args.out), "drift": drift,
                      "prompts": rows}, ensure_ascii=False, indent=1))
    return 1 if args.check and drift else 0


if __name__ == "__main__":
    sys.exit(main())
