"""Render the environment- and user-dependent parts of ``asterisk-config/``: secrets, the trunk,
NAT, and one PJSIP phone per user with an extension.

Asterisk's configuration files cannot read environment variables, and secrets do not belong in
git, so the static files ``#include`` small files from ``/etc/asterisk/vigil-generated/`` that
this module writes at start-up (compose service ``asterisk-init``, after ``vigil migrate``)::

    python -m vigil.asterisk_secrets --out /etc/asterisk/vigil-generated

The AMI secret and the trunk come from the environment and only add to sections the static files
define (``[name](+)``). The phones come from Vigil's users (``VIGIL_DATABASE_URL``): each user
with an extension gets an endpoint from the ``agent-webrtc`` template (supervisors and admins
``supervisor-webrtc``), its AOR and its auth with the user's generated SIP password, opened with
``VIGIL_SECRET_KEY`` (:mod:`core.sip_credentials`). After adding users or rotating passwords, run
it again and reload PJSIP (docs/production.md).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vigil import asterisk_refs as refs

REQUIRED = ("VIGIL_AMI_SECRET", "TRUNK_HOST", "TRUNK_USERNAME", "TRUNK_PASSWORD")
OPTIONAL = ("ASTERISK_EXTERNAL_IP", "CENTER_CALLER_ID", "CENTER_CALLER_NAME", "ALARM_LINE_DID",
            "VIGIL_RECORD_CALLS")
# what the phones are read with (core.settings)
FROM_DATABASE = ("VIGIL_DATABASE_URL", "VIGIL_SECRET_KEY")
MIN_SECRET_LENGTH = 12
SIP_PORT = 5060
# a phone's section name: digits, as the dialplan's extensions are (agent-phones _[12]XXX)
EXTENSION = re.compile(r"^[0-9]{2,8}$")
SUPERVISOR_ROLES = ("supervisor", "admin")


@dataclass(frozen=True, slots=True)
class Phone:
    """One user's PJSIP phone."""

    extension: str
    role: str
    display_name: str
    password: str


class SecretsError(ValueError):
    """The environment cannot make a safe configuration (missing or unusable values)."""


def _value(env: Mapping[str, str], name: str) -> str:
    """A value fit for one configuration line: no line breaks; ``;`` escaped (a comment)."""
    value = env.get(name, "").strip()
    if any(c in value for c in "\r\n\0"):
        raise SecretsError(f"{name} must be a single line")
    return value.replace(";", "\\;")


def identify_match(host: str) -> str:
    """The trunk's identify ``match`` for ``TRUNK_HOST`` (``host[:port]``): its address *with*
    the source port (5060 when none is given). Without a port, res_pjsip_endpoint_identifier_ip
    takes every request from that address as the trunk's, a phone's REGISTER included, when
    phones sit behind the same address (a NAT, the carrier's SBC); with one, only the carrier's
    signalling port matches (and Asterisk resolves a hostname without the SRV lookup that would
    drop the port). IPv6 addresses are written ``[addr]:port``."""
    text = host.strip()
    port = ""
    if text.startswith("["):
        addr, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        addr, _, port = text.partition(":")
    else:
        addr = text  # a bare IPv6 address, or a name without port
    if not addr:
        raise SecretsError(f"TRUNK_HOST {host!r} has no address")
    port = port or str(SIP_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SecretsError(f"TRUNK_HOST {host!r}: {port!r} is not a port")
    try:
        is_v6 = ipaddress.ip_address(addr).version == 6
    except ValueError:
        is_v6 = False
    return f"[{addr}]:{port}" if is_v6 else f"{addr}:{port}"


def _display(name: str) -> str:
    """A display name safe inside ``callerid = "name" <ext>``."""
    cleaned = re.sub(r'["<>\\;\x00-\x1f]', " ", name).strip()
    return re.sub(r"\s+", " ", cleaned) or "Vigil"


def phone_sections(phones: Sequence[Phone]) -> tuple[list[str], list[str]]:
    """The endpoint, AOR and auth of each phone, and why any phone was left out."""
    lines: list[str] = []
    problems: list[str] = []
    seen: set[str] = set()
    for phone in phones:
        ext = phone.extension
        if not EXTENSION.match(ext) or ext in seen:
            problems.append(f"extension {ext!r}: not 2-8 digits, or given twice; no phone")
            continue
        if len(phone.password) < MIN_SECRET_LENGTH or any(c in phone.password
                                                          for c in "\r\n\0 \\"):
            problems.append(f"extension {ext}: unusable SIP password; rotate it")
            continue
        seen.add(ext)
        template = "supervisor-webrtc" if phone.role in SUPERVISOR_ROLES else "agent-webrtc"
        lines += [
            f"[{ext}]({template})", f'callerid = "{_display(phone.display_name)}" <{ext}>',
            f"auth = {ext}-auth", f"aors = {ext}",
            f"[{ext}](phone-aor)",
            f"[{ext}-auth](phone-auth)", f"username = {ext}",
            f"password = {phone.password.replace(';', chr(92) + ';')}", "",
        ]
    return lines, problems


def render(env: Mapping[str, str], phones: Sequence[Phone] = ()) -> dict[str, str]:
    """File name -> content for ``vigil-generated/``; raises when something required is missing.
    Phones that cannot be written safely are left out (see :func:`phone_sections`)."""
    missing = [name for name in REQUIRED if not env.get(name, "").strip()]
    if missing:
        raise SecretsError("missing required variables: " + ", ".join(missing))
    for name in REQUIRED:
        if ("SECRET" in name or "PASSWORD" in name) and len(env[name].strip()) < MIN_SECRET_LENGTH:
            raise SecretsError(f"{name} is shorter than {MIN_SECRET_LENGTH} characters")
    host = _value(env, "TRUNK_HOST")
    user = _value(env, "TRUNK_USERNAME")

    manager = [f"[{refs.AMI_USER}](+)", f"secret = {_value(env, 'VIGIL_AMI_SECRET')}", ""]

    pjsip, _problems = phone_sections(phones)
    pjsip += [
        "[trunk-auth](+)", f"username = {user}", f"password = {_value(env, 'TRUNK_PASSWORD')}",
        "",
        "[trunk-aor](+)", f"contact = sip:{host}", "",
        "[trunk-identify](+)", f"match = {identify_match(host)}", "",
        "[trunk-reg](+)", f"server_uri = sip:{host}", f"client_uri = sip:{user}@{host}", "",
    ]
    external = _value(env, "ASTERISK_EXTERNAL_IP")
    if external:
        for transport in ("transport-udp", "transport-tcp"):
            pjsip += [f"[{transport}](+)", f"external_media_address = {external}",
                      f"external_signaling_address = {external}", ""]

    globals_ = ["[globals](+)"]
    for name in ("CENTER_CALLER_ID", "CENTER_CALLER_NAME", "ALARM_LINE_DID", "VIGIL_RECORD_CALLS"):
        if env.get(name, "").strip():
            globals_.append(f"{name}={_value(env, name)}")

    header = ("; generated by vigil.asterisk_secrets from the environment and Vigil's users; "
              "do not edit\n")
    return {
        "manager_secrets.conf": header + "\n".join(manager),
        "pjsip_secrets.conf": header + "\n".join(pjsip),
        "extensions_globals.conf": header + "\n".join(globals_) + "\n",
    }


def write(out: Path, files: Mapping[str, str]) -> None:
    """Write the files readable by their owner and group only (Asterisk shares the uid/gid)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = out / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.chmod(0o640)
        tmp.replace(target)


async def load_phones(database_url: str, secret_key: str) -> tuple[list[Phone], list[str]]:
    """Every user with an extension as a :class:`Phone`; users whose SIP password cannot be
    read (none yet, or sealed under another ``VIGIL_SECRET_KEY``) are reported instead."""
    from core import users
    from core.db import Database
    from core.sip_credentials import for_secret

    sip = for_secret(secret_key)
    db = Database(database_url)
    phones: list[Phone] = []
    problems: list[str] = []
    try:
        async with db.session() as session:
            for user in await users.phone_users(session):
                password = users.sip_password(user, sip)
                if password is None:
                    problems.append(f"user {user.username} (extension {user.extension}): no "
                                    "readable SIP password; run `vigil rotate-sip-password "
                                    f"{user.username}`")
                    continue
                phones.append(Phone(str(user.extension), user.role, user.display_name,
                                    password))
    finally:
        await db.dispose()
    return phones, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigil.asterisk_secrets",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", required=True, type=Path, help="the vigil-generated directory")
    args = parser.parse_args(argv)
    from core.settings import Settings

    settings = Settings()
    try:
        phones, problems = asyncio.run(load_phones(settings.database_url, settings.secret_key))
        files = render(os.environ, phones)
    except SecretsError as exc:
        print(f"asterisk secrets: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the database: say what went wrong, start nothing
        print(f"asterisk secrets: cannot read the users' phones: {exc}", file=sys.stderr)
        return 2
    problems += phone_sections(phones)[1]
    for problem in problems:
        print(f"asterisk secrets: {problem}", file=sys.stderr)
    write(args.out, files)
    names = ", ".join(p.extension for p in phones) or "none yet (create users with extensions)"
    print(f"asterisk secrets: wrote {', '.join(sorted(files))} to {args.out}; phones: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
