"""ASVS V15.2: what runs is what was reviewed. Every dependency the project names is pinned, with
hashes, in the lock the `make` targets install from, and the environment the suite runs in is
exactly that lock."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from odr.config import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements.lock"


def _pins() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every pin in the lock."""
    pins: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
        found = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", block)
        if found:
            pins[canonicalize_name(found[1])] = (found[2], block.count("--hash=sha256:"))
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(name) for name in names]


def test_every_declared_dependency_is_pinned_with_hashes_within_its_range():
    pins = _pins()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run make lock"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (name, version)
        assert hashes >= 1, f"{name} is pinned without a hash"


def test_every_pin_carries_a_hash():
    unhashed = [name for name, (_version, hashes) in _pins().items() if hashes == 0]
    assert unhashed == []


def test_the_installed_packages_are_the_locked_versions():
    pins = _pins()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    drifted = {
        name: (version, installed[name])
        for name, (version, _hashes) in pins.items()
        if name in installed and installed[name] != version
    }
    assert drifted == {}, "installed versions differ from the lock: run make venv"
