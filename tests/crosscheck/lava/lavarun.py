"""Running a netx HDF5 file in Lava's bit-accurate CPU simulation (lava-nc 0.10.0, lava-dl 0.6.0).

``run(path, spikes)`` feeds ``spikes`` ``(T, N_in)`` (the flattened HDF5 input shape, C order) to
``lava.lib.dl.netx.hdf5.Network`` under ``Loihi2SimCfg(select_tag="fixed_pt")`` for ``T`` steps
and returns, per HDF5 layer index, the spikes ``(T, N)`` (row ``t`` = Lava step ``t + 1``) and,
with ``probe``, the raw 24-bit ``u`` and ``v`` after each step, read by Lava monitors. With
``reset=W``, netx zeroes every neuron's ``u`` and ``v`` at the start of each ``W``-step window
(its ``reset_interval``), so one run holds many samples, one per window. Lava stores images as
(W, H, C); both directions are converted here.
"""

from __future__ import annotations

import multiprocessing
import threading
import warnings

import numpy as np


def import_lava() -> None:
    """Import Lava's runtime. Its message infrastructure calls
    ``multiprocessing.set_start_method("fork")`` at import, which raises when anything fixed
    the method before; Lava needs fork anyway, so that call is tolerated here."""
    original = multiprocessing.set_start_method

    def tolerant(method, force=False):
        current = multiprocessing.get_start_method(allow_none=True)
        if current is None or force:
            return original(method, force=force)
        if current != method:
            warnings.warn(
                f"Lava forces the start method {method!r} (was {current!r})",
                RuntimeWarning,
                stacklevel=2,
            )
            return original(method, force=True)
        return None

    multiprocessing.set_start_method = tolerant
    try:
        import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401
        from lava.lib.dl import netx  # noqa: F401
    finally:
        multiprocessing.set_start_method = original


def _layer_indices(path: str) -> list[int]:
    """HDF5 indices of the layers netx turns into Lava layers (dense, dense_rec, conv)."""
    import h5py

    found = []
    with h5py.File(path, "r") as f:
        for i in range(len(f["layer"])):
            kind = f["layer"][str(i)]["type"][()]
            kind = (kind[0] if getattr(kind, "shape", ()) else kind).decode("ascii")
            if kind in ("dense", "dense_rec", "conv"):
                found.append(i)
    return found


def _to_lava(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``(T, N)`` in C order of ``shape`` -> Lava's ``(*shape[::-1], T)``."""
    steps = x.shape[0]
    x = x.reshape(steps, *shape)
    return np.transpose(x, (*range(len(shape), 0, -1), 0))


def _from_lava(x: np.ndarray) -> np.ndarray:
    """Lava ``(*xyz, T)`` -> ``(T, N)`` in C order of the reversed shape."""
    nd = x.ndim - 1
    return np.transpose(x, (nd, *range(nd - 1, -1, -1))).reshape(x.shape[-1], -1)


def run(
    path: str, spikes: np.ndarray, *, probe: bool = False, reset: int | None = None
) -> dict[int, dict[str, np.ndarray]]:
    """Run the network at ``path`` on ``spikes`` ``(T, N_in)``; see the module docstring."""
    import_lava()
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    spikes = np.asarray(spikes)
    steps = spikes.shape[0]
    # Lava counts steps from 1: row 0 is step 1, the first of each window when it is 1 mod W
    windows = {} if reset is None else {"reset_interval": reset, "reset_offset": 1 % reset}
    net = netx.hdf5.Network(net_config=path, **windows)
    indices = _layer_indices(path)
    assert len(indices) == len(net.layers), (indices, len(net.layers))
    in_shape = tuple(net.layers[0].inp.shape)  # Lava (W, H, C) order
    source = Source(data=_to_lava(spikes.astype(np.int32), in_shape[::-1]))
    source.s_out.connect(net.inp)
    sinks, monitors = [], []
    for layer in net.layers:
        sink = Sink(shape=layer.out.shape, buffer=steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
        if probe:
            from lava.proc.monitor.process import Monitor

            mu, mv = Monitor(), Monitor()
            mu.probe(layer.neuron.u, steps)
            mv.probe(layer.neuron.v, steps)
            monitors.append((mu, mv))
    done = False
    try:
        net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        out: dict[int, dict[str, np.ndarray]] = {}
        for k, (index, sink) in enumerate(zip(indices, sinks, strict=True)):
            record = {"s": _from_lava(sink.data.get()).astype(np.int64)}
            if probe:
                mu, mv = monitors[k]
                name = net.layers[k].neuron.name
                u = mu.get_data()[name]["u"]  # (T, *xyz)
                v = mv.get_data()[name]["v"]
                record["u"] = _from_lava(np.moveaxis(u, 0, -1)).astype(np.int64)
                record["v"] = _from_lava(np.moveaxis(v, 0, -1)).astype(np.int64)
            out[index] = record
        done = True
    finally:
        if done:
            net.stop()
        else:
            _stop_after_failure(net)
    return out


def _stop_after_failure(net, timeout: float = 10.0) -> None:
    """After a failed run ``net.stop()`` can wait forever on dead workers: give it ``timeout``
    seconds, then end the worker processes this run started."""
    stopper = threading.Thread(target=net.stop, daemon=True)
    stopper.start()
    stopper.join(timeout)
    if stopper.is_alive():
        for child in multiprocessing.active_children():
            child.kill()
