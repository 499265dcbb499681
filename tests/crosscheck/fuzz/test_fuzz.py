"""The fuzz tier: mutated files (`fuzzing`) through ``snnx inspect``, ``simulate`` and ``compile``
for every target, each run in its own process with a deadline and a memory limit. Zero hangs,
zero internal errors, zero exit-0 wrong answers.

``SNNX_FUZZ_FILES`` (default 260) files from seed ``SNNX_FUZZ_SEED`` (default 17); the first
``SNNX_FUZZ_DEEP`` (default 20) files ``inspect`` accepts also run ``simulate`` and ``compile``.
About two minutes on two cores; benchmarks/fuzz.py runs 10,000.
"""

from __future__ import annotations

import os

import fuzzing


def test_no_hang_no_internal_error_no_wrong_answer(tmp_path):
    outcomes = fuzzing.campaign(
        count=int(os.environ.get("SNNX_FUZZ_FILES", "260")),
        seed=int(os.environ.get("SNNX_FUZZ_SEED", "17")),
        folder=tmp_path,
        deep_runs=int(os.environ.get("SNNX_FUZZ_DEEP", "20")),
    )
    bad = [
        f"{o.verdict}: {o.command} {o.case.path.name} ({o.case.detail}): {o.why}"
        for o in outcomes
        if o.verdict != "ok"
    ]
    table = fuzzing.counts(outcomes)
    assert not bad, f"{table}\n" + "\n".join(bad)
    assert table["simulate"]["ok"] == table["compile"]["ok"] / len(fuzzing.TARGETS) > 0
    mutations = {o.case.mutation for o in outcomes}
    assert mutations == set(fuzzing.MUTATIONS)
