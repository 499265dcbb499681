"""The batch split across devices gives the results of one device (four host devices, forced
with XLA_FLAGS in a fresh process since jax reads it at start-up)."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import numpy as np, jax, snnx
from snnx.sim import Simulator
assert jax.device_count() == 4, jax.devices()
graph = snnx.read({path!r})
x = (np.random.default_rng(0).uniform(size=(80, 8, 12)) < 0.3).astype(np.float32)
split = Simulator(graph, "snntorch-nir", shard=True, record=["lif1.lif"])
outputs, records = split.run(x)
assert len(outputs["output"].sharding.device_set) == 4
whole = Simulator(graph, "snntorch-nir", record=["lif1.lif"])(x)
np.testing.assert_array_equal(np.asarray(outputs["output"]), whole.outputs["output"])
np.testing.assert_allclose(np.asarray(records["lif1.lif.v"]), whole.records["lif1.lif.v"], rtol=1e-6, atol=1e-6)
assert whole.outputs["output"].sum() > 0
try:
    split.run(x[:, :6])
except snnx.SnnxError as err:
    assert "does not split across 4 devices" in str(err)
else:
    raise AssertionError("a batch of 6 on 4 devices must be refused")
print("ok")
"""


def test_batch_sharded_over_four_devices_matches_one(nir_paper):
    """Consistency check of two snnx paths: a batch sharded over four (virtual) devices and the
    same batch on one."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    code = CODE.format(path=str(nir_paper / "braille_noDelay_bias_zero.nir"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
