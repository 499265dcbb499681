"""The main environment's lock (constraints.txt, used by `make venv`) and the cross-check tiers'
pins (ci/tiers/*/install.sh) name the same release of every package they share, except the
numpy split the lock's header explains; and pyproject's dependencies admit every locked release."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
#: (tier, package): the tier's own pin, deliberately different from the lock's
TIER_OWN = {("xylo", "numpy"), ("jaxsnn", "numpy")}


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;#]+)", line.strip())
        if match:
            found[canonicalize_name(match[1])] = match[2]
    return found


LOCK = pins((ROOT / "constraints.txt").read_text().splitlines())


def test_the_lock_pins_what_the_tiers_pin():
    differ = []
    for script in sorted((ROOT / "ci" / "tiers").glob("*/install.sh")):
        tier = script.parent.name
        quoted = re.findall(r'"([A-Za-z0-9_.\-]+==[^"]+)"', script.read_text())
        for name, version in pins(quoted).items():
            if name in LOCK and LOCK[name] != version and (tier, name) not in TIER_OWN:
                differ.append(f"{tier}: {name} {version}, constraints.txt {LOCK[name]}")
    assert "numpy" in LOCK and len(LOCK) > 30
    assert not differ, "; ".join(differ)


def test_pyproject_admits_the_locked_releases():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    refused = []
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in LOCK, f"{name} is required but not locked"
        if not requirement.specifier.contains(LOCK[name]):
            refused.append(f"{text} refuses {LOCK[name]}")
    assert not refused, "; ".join(refused)
