"""`snnx verify` and `snnx simulate` over a data set streamed in batches give the same report and
the same arrays (spikes exactly, voltages to float rounding) however the work is split: one process on one device in one batch (the
yardstick), one process on four forced host devices in padded batches, and two local processes
under `jax.distributed` (coordinator on localhost) with two devices each. Each run is a fresh
process, since jax reads XLA_FLAGS and joins a distributed run only at start-up. These compare
snnx with itself; the Loihi numerics the report measures are checked against Lava elsewhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

FLAGS = "--xla_force_host_platform_device_count={}"


def snnx(argv: list[str], devices: int = 1, extra: list[list[str]] | None = None) -> list[str]:
    """Run ``python -m snnx argv`` in ``devices``-device processes, one per ``extra`` argument
    list (all at once); their standard outputs."""
    env = {**os.environ, "XLA_FLAGS": FLAGS.format(devices), "JAX_PLATFORMS": "cpu"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "snnx", *argv, *more],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for more in (extra or [[]])
    ]
    outs = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-3000:]
        outs.append(out)
    return outs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def distributed(port: int) -> list[list[str]]:
    common = ["--coordinator", f"localhost:{port}", "--processes", "2", "--process-id"]
    return [[*common, "0"], [*common, "1"]]


@pytest.fixture(scope="module")
def braille(nir_paper) -> str:
    return str(nir_paper / "braille_noDelay_bias_zero.nir")


def test_verify_streamed_over_devices_and_processes_matches_one_device(braille):
    argv = ["verify", braille, "--target", "loihi", "--profile", "snntorch-nir", "--json"]
    argv += ["--random", "22", "--steps", "40", "--rate", "0.2"]
    (whole,) = snnx(argv)
    (four,) = snnx([*argv, "--batch-size", "6"], devices=4)  # batches of 6 padded to 8
    main, other = snnx([*argv, "--batch-size", "8"], devices=2, extra=distributed(free_port()))
    report = json.loads(whole)
    assert report["batch"] == 22 and report["layers"][0]["reference_spikes"] > 0
    assert report["class_agreement"] < 1.0  # a report with something to disagree about
    assert json.loads(four) == report
    assert json.loads(main) == report
    assert other == ""  # process 1 computes its part and leaves the report to process 0


def test_simulate_streamed_over_devices_and_processes_matches_one_device(braille, tmp_path):
    x = (np.random.default_rng(3).uniform(size=(30, 10, 12)) < 0.3).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    argv = ["simulate", braille, "--input", str(tmp_path / "x.npy"), "--profile", "snntorch-nir"]
    argv += ["--record", "lif1.lif"]
    snnx([*argv, "-o", str(tmp_path / "one.npz")])
    snnx([*argv, "-o", str(tmp_path / "four.npz"), "--batch-size", "3"], devices=4)
    port = free_port()
    snnx([*argv, "-o", str(tmp_path / "two.npz"), "--batch-size", "4"], 2, distributed(port))
    with np.load(tmp_path / "one.npz") as one:
        assert one["output"].dtype == bool and one["output"].shape == (30, 10, 7)
        assert one["output"].sum() > 0
        for other in ("four", "two"):
            with np.load(tmp_path / f"{other}.npz") as got:
                assert sorted(got) == sorted(one)
                for key in one:  # spikes identical; states to float rounding (products of
                    # other batch sizes sum in another order on the CPU)
                    if one[key].dtype == bool:
                        np.testing.assert_array_equal(got[key], one[key], err_msg=other)
                    else:
                        np.testing.assert_allclose(got[key], one[key], 1e-5, 1e-5, err_msg=other)
