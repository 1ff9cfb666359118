"""docker-compose.yml, Dockerfile and .env.example, checked statically (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from vigil import asterisk_refs as refs
from vigil.asterisk_secrets import FROM_DATABASE, OPTIONAL, REQUIRED

REPO = Path(__file__).resolve().parents[2]
FLOATING = {"latest", "stable", "edge", "mainline", "lts", "current", "alpine", "slim"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def pinned(image: str) -> bool:
    """An exact version: ``name:1.2[.3][-variant]``, never ``latest`` or a bare major."""
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag or not name:
        return False
    if "@sha256:" in image:
        return True
    version = re.match(r"^v?(\d+(?:\.\d+)+)(?:[-_][\w.-]+)?$", tag)
    return bool(version) and tag.lower() not in FLOATING


@pytest.mark.parametrize("image, ok", [
    ("postgres:16.6-bookworm", True), ("andrius/asterisk:22.8.2_debian-trixie", True),
    ("vigil:0.1.0", True), ("postgres:16", False), ("postgres:latest", False),
    ("andrius/asterisk:22", False), ("postgres", False), ("andrius/asterisk:stable", False),
    ("localhost:5000/vigil", False), ("node:22-slim", False),
])
def test_pinning_rule(image: str, ok: bool) -> None:
    assert pinned(image) is ok


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    images = [svc["image"] for svc in compose["services"].values() if "image" in svc]
    assert len(images) == len(compose["services"])
    for image in images:
        assert pinned(image), image
    froms = re.findall(r"^FROM\s+(\S+)", (REPO / "Dockerfile").read_text(), re.M)
    assert len(froms) == 2
    for image in froms:
        assert pinned(image), image


def test_services_and_wiring(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "asterisk", "vigil", "asterisk-init"} <= set(services)
    assert services["asterisk"]["image"].split(":")[1].startswith("22.")
    # the FastAGI host in the dialplan is the Vigil service's name
    assert refs.AGI_HOST in services
    health = services["postgres"]["healthcheck"]
    assert "pg_isready" in health["test"]
    assert services["vigil"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (services["asterisk"]["depends_on"]["asterisk-init"]["condition"]
            == "service_completed_successfully")
    for name in ("vigil", "asterisk"):
        assert "healthcheck" in services[name]


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    out = {}
    for vol in service.get("volumes", []):
        source, target = vol.split(":")[:2]
        out[target] = source
    return out


def test_shared_volumes(compose: dict[str, Any]) -> None:
    ast = _mounts(compose["services"]["asterisk"])
    vig = _mounts(compose["services"]["vigil"])
    assert ast["/etc/asterisk"] == "./asterisk-config"
    assert ast[refs.RECORDINGS_DIR] == vig[refs.RECORDINGS_DIR] == "recordings"
    assert ast[refs.ALARM_SPOOL_DIR] == vig[refs.ALARM_SPOOL_DIR]
    assert ast[str(Path(refs.QUEUE_LOG).parent)] == vig[str(Path(refs.QUEUE_LOG).parent)]
    init = _mounts(compose["services"]["asterisk-init"])
    assert init[f"/etc/asterisk/{refs.GENERATED_DIR}"] == ast[f"/etc/asterisk/{refs.GENERATED_DIR}"]
    # bind mounts nested inside the read-only config mount need their directory in git
    for target in ast:
        if target.startswith("/etc/asterisk/"):
            assert (REPO / "asterisk-config" / target.removeprefix("/etc/asterisk/")).is_dir()
    for name in {*ast.values(), *vig.values()}:
        if not name.startswith("."):
            assert name in compose["volumes"], name


def test_ports(compose: dict[str, Any]) -> None:
    ast = " ".join(compose["services"]["asterisk"]["ports"])
    assert "8089:8089/tcp" in ast and "5060:5060/udp" in ast and "5038" not in ast
    rtp = (REPO / "asterisk-config" / "rtp.conf").read_text()
    start = re.search(r"rtpstart = (\d+)", rtp)
    end = re.search(r"rtpend = (\d+)", rtp)
    assert start and end and f"{start[1]}-{end[1]}:{start[1]}-{end[1]}/udp" in ast


def test_secrets_are_required_variables(compose: dict[str, Any]) -> None:
    text = (REPO / "docker-compose.yml").read_text()
    example = (REPO / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert used <= documented, used - documented
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    secrets = {v for v in documented if re.search("SECRET|PASSWORD|KEY", v)}
    assert secrets <= required, secrets - required
    # the example holds no values for secrets
    for name in secrets:
        assert re.search(rf"^{name}=$", example, re.M), name
    # asterisk-init gets everything the renderer needs, the users' database included
    init = compose["services"]["asterisk-init"]
    init_env = init["environment"]
    assert set(REQUIRED) <= set(init_env) and set(OPTIONAL) <= set(init_env)
    assert set(FROM_DATABASE) <= set(init_env)
    assert init_env["VIGIL_DATABASE_URL"] == compose["services"]["vigil"]["environment"][
        "VIGIL_DATABASE_URL"]
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "vigil migrate &&" in " ".join(init["command"])
    assert not re.search(r"SIP_PASSWORD", text + example)  # generated per user, not in .env


def test_vigil_environment_names_real_settings(compose: dict[str, Any]) -> None:
    fields = {f"VIGIL_{name.upper()}" for name in Settings.model_fields}
    env = compose["services"]["vigil"]["environment"]
    unknown = {k for k in env if k.startswith("VIGIL_")} - fields
    assert not unknown, unknown
    assert env["VIGIL_AMI_HOST"] == "asterisk"
    assert env["VIGIL_AMI_USER"] == refs.AMI_USER
    assert int(env["VIGIL_AGI_PORT"]) == refs.AGI_PORT
    assert env["VIGIL_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_dockerfile_builds_static_and_runs_as_asterisk_uid() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "npm ci" in text and "build_static.mjs" in text
    assert "--uid 1000" in text and re.search(r"^USER vigil$", text, re.M)
    for package in ("core", "crm", "receivers", "alarms", "cti", "ivr", "agent_web", "pbxsim",
                    "vigil"):
        assert f"COPY {package}/ {package}/" in text, package
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert ".env" in ignore and "node_modules" in ignore and ".venv" in ignore
