"""Simulator benchmark: snnx against hand-written JAX and the peers, side by side in one run.

    python benchmarks/bench_sim.py [--workloads 1 2 3 4 5 6] [--repeats N] [--quick] [--memory]
                                   [--precision highest|fast] [--linear-n N] [--json out.json]

For each workload (see `workloads`), every implementation runs forward, and forward + backward
(a spike-count loss, gradients with respect to every weight and bias), timed round-robin: each
round calls every implementation once in turn (starting one further along each round), so load
from other processes on a shared machine falls on all of them alike. Reported: the median
seconds per call over the rounds, and ratios taken within each round, then the median over
rounds: each implementation against the best hand-written JAX version (the faster of ``jax-scan``
and ``jax-layer`` for that mode), and snnx's speed-up over each peer. Compile time (first call
minus the median; for JAX, tracing and XLA compilation) is reported apart.

Before timing, the harness checks that both hand-written versions and all three snnx schedules
produce exactly the same output spikes (it stops with an error if not) and compares their
gradients; for each peer it reports how many output spikes differ from snnx run under the
semantics that reproduce that peer.

``snnx-program`` is the program behind snnx's forward call, jitted and called directly: the
forward call's overhead is its time over this. Every JAX implementation (snnx and hand-written)
traces its products at ``--precision`` (``highest``: full float32, the default; ``fast``: the
device's default, TF32 on NVIDIA GPUs), and torch on CUDA is told the same
(``allow_tf32``). The JSON output records the device, the versions and the precision.

``--memory`` adds, per implementation, the peak resident memory one call adds above what the
process holds before it (forward, forward + backward), each implementation in its own
subprocess: after warm-up, the kernel's peak-RSS mark is reset (``/proc/self/clear_refs``) and
read back after the call (``VmHWM``); glibc is told to map and unmap large blocks directly
(``MALLOC_MMAP_THRESHOLD_``) so freed buffers leave the process and each call's peak is its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# torch's OpenMP threads busy-wait by default; on a machine shared with other processes that
# makes each op wait for a descheduled thread (10-20x slower forwards measured here, load 10).
# Passive waiting removes that artefact; set OMP_WAIT_POLICY yourself to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
try:  # benchmark this checkout's snnx even where the venv lacks it
    import snnx  # noqa: F401
except ImportError:
    sys.path.insert(0, str(HERE.parent / "src"))

from peers import PEERS, Impl, PeerMissing, build_peer, torch_device  # noqa: E402
from workloads import KEYS, LINEAR_N, Workload, build, loss_from_outputs  # noqa: E402

SNNX = ("snnx", "snnx-layer", "snnx-step")
HAND = ("jax-scan", "jax-layer")
PROGRAM = "snnx-program"  # the jitted program behind snnx's forward call (forward only)
ALL = (*SNNX, PROGRAM, *HAND, *PEERS)
MODES = ("fwd", "bwd")
MODE_TITLE = {"fwd": "forward", "bwd": "forward+backward"}
AIMS = {"1": {"snntorch": 1.9}, "4": {"snntorch": 50.0}}  # snnx speed-up aims over a peer
AIM_HAND = 1.1  # snnx within this factor of the best hand-written JAX
AIM_CALL = 1.2  # snnx's forward call within this factor of its program
MIN_SAMPLE_S = 0.1  # a timed sample repeats fast calls until it lasts this long


# --------------------------------------------------------------------------- implementations


def at_precision(f: Callable, precision: str) -> Callable:
    """``f`` called (and so traced) with ``precision`` as JAX's default product precision."""
    import jax

    if precision == "fast":
        return f

    def call(*args):
        with jax.default_matmul_precision(precision):
            return f(*args)

    return call


def snnx_impl(wl: Workload, schedule: str, precision: str) -> Impl:
    import jax
    import jax.numpy as jnp

    from snnx.sim import Simulator

    sim = Simulator(wl.graph, wl.profile, schedule=schedule, precision=precision)
    params = sim.params
    trainable = {
        n: {k: v for k, v in p.items() if k in ("weight", "bias")} for n, p in params.items()
    }
    trainable = {n: p for n, p in trainable.items() if p}
    fixed = {
        n: {k: v for k, v in p.items() if k not in ("weight", "bias")} for n, p in params.items()
    }
    (out_name,) = wl.graph.outputs
    xj, target = jnp.asarray(wl.x), jnp.asarray(wl.target)

    def outputs(train, fixed, x):
        merged = {n: {**fixed[n], **train.get(n, {})} for n in fixed}
        out = sim.run(x, merged)[0][out_name]
        return out.reshape((*out.shape[:2], -1))

    grad = jax.jit(jax.grad(lambda tr, fx, x, t: loss_from_outputs(outputs(tr, fx, x), t)))
    name = "snnx" if schedule == "auto" else f"snnx-{schedule}"
    plans = [
        " ".join(f"{s.kind[:3]}[{','.join(s.nodes)}]" for s in program.plan.segments)
        for program in (sim.forward_program, sim.program)
    ]  # the schedules, for the report
    plan = plans[0] if plans[0] == plans[1] else f"fwd {plans[0]}; fwd+bwd {plans[1]}"
    impl = Impl(
        name,
        lambda: sim(xj).ready(),  # the forward call: numpy results when read, the forward plan
        lambda: jax.block_until_ready(grad(trainable, fixed, xj, target)),
        lambda: np.asarray(outputs(trainable, fixed, xj)),
        note=f"Simulator(schedule={schedule!r}): {plan}",
    )
    impl.grads = lambda: grad(trainable, fixed, xj, target)
    return impl


def program_impl(wl: Workload, precision: str) -> Impl:
    """The program behind snnx's forward call (schedule ``auto``), jitted and called directly
    on a device array: what the call costs without its own overhead."""
    import jax
    import jax.numpy as jnp

    from snnx.sim import Simulator

    sim = Simulator(wl.graph, wl.profile, precision=precision)
    program = at_precision(jax.jit(sim.forward_program.run), precision)
    (out_name,) = wl.graph.outputs
    xj = jnp.asarray(wl.x)
    run = lambda: program(sim.params, {sim.inputs[0]: xj}, {})  # noqa: E731
    return Impl(
        PROGRAM,
        lambda: jax.block_until_ready(run()),
        None,
        lambda: np.asarray(run()[0][out_name]).reshape((*wl.x.shape[:2], -1)),
        note="jax.jit(Simulator.forward_program.run)",
    )


def hand_impl(wl: Workload, kind: str, precision: str) -> Impl:
    import jax
    import jax.numpy as jnp

    hand = wl.hand
    net = getattr(hand, kind)
    fwd = at_precision(jax.jit(net), precision)
    grad = jax.jit(jax.grad(lambda w, c, x, t: loss_from_outputs(net(w, c, x), t)))
    grad = at_precision(grad, precision)
    xj, target = jnp.asarray(wl.x), jnp.asarray(wl.target)
    notes = {
        "scan": "one lax.scan stepping the whole network",
        "layer": "each stateless layer over all T*B at once, a scan per neuron layer",
    }
    impl = Impl(
        f"jax-{kind}",
        lambda: jax.block_until_ready(fwd(hand.weights, hand.consts, xj)),
        lambda: jax.block_until_ready(grad(hand.weights, hand.consts, xj, target)),
        lambda: np.asarray(fwd(hand.weights, hand.consts, xj)).reshape((*wl.x.shape[:2], -1)),
        note=notes[kind],
    )
    impl.grads = lambda: grad(hand.weights, hand.consts, xj, target)
    return impl


def build_impl(name: str, wl: Workload, precision: str = "highest") -> Impl:
    if name in SNNX:
        return snnx_impl(wl, "auto" if name == "snnx" else name.split("-")[1], precision)
    if name == PROGRAM:
        return program_impl(wl, precision)
    if name in HAND:
        return hand_impl(wl, name.split("-")[1], precision)
    return build_peer(name, wl)


# --------------------------------------------------------------------------- checks


class CheckFailed(Exception):
    pass


def check_outputs(
    wl: Workload, impls: dict[str, Impl], failed: dict, tolerance: float = 0.0
) -> dict[str, str]:
    """snnx (all schedules) and the hand-written versions must agree spike for spike (or on all
    but a ``tolerance`` fraction of the entries: float ties that products of other shapes round
    apart on a GPU), and their gradients (each array relative to its largest entry) with
    ``jax-layer``'s; a mismatch stops the workload (with a tolerance, gradients are reported,
    not judged). Peers: how many output spikes differ from snnx under the semantics reproducing
    the peer (for information)."""
    import jax

    from snnx.sim import Simulator

    report = {}
    ref = impls["jax-layer"].outputs()
    for name in (*SNNX, PROGRAM, *HAND):
        if name not in impls:
            continue
        out = impls[name].outputs()
        diff = int((out != ref).sum()) if out.shape == ref.shape else ref.size
        if diff > tolerance * ref.size:
            raise CheckFailed(
                f"workload {wl.key}: {name} output spikes differ from jax-layer's ({diff} of "
                f"{ref.size}): snnx and the hand-written JAX no longer compute the same thing"
            )
        equal = "spikes equal" if diff == 0 else f"{diff}/{ref.size} spikes differ"
        report[name] = f"{equal} (rate {ref.mean():.3f})"
    ref_grads = jax.tree_util.tree_leaves(impls["jax-layer"].grads())
    for name in (*SNNX, "jax-scan"):
        if name not in impls or (name, "bwd") in failed:
            continue
        grads = jax.tree_util.tree_leaves(impls[name].grads())
        worst = max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / (np.max(np.abs(b)) + 1e-30))
            for a, b in zip(grads, ref_grads, strict=True)
        )
        if not worst < 1e-3 and not tolerance:
            raise CheckFailed(
                f"workload {wl.key}: {name} gradients differ from jax-layer's (max rel. diff {worst:.2e})"
            )
        report[name] += f", grads within {worst:.0e}"
    for name in PEERS:
        if name not in impls or impls[name].reference is None:
            continue
        out = impls[name].outputs()
        graph, semantics = impls[name].reference
        expect = next(iter(Simulator(graph, semantics)(wl.x).outputs.values()))
        expect = expect.reshape(out.shape)
        differ = int((out != expect).sum())
        label = semantics.profile_name or "custom"
        report[name] = f"{differ}/{out.size} spikes differ from snnx[{label}]"
    return report


# --------------------------------------------------------------------------- timing


@dataclasses.dataclass
class Timing:
    first: float = math.nan  # first call, compile included
    inner: int = 1  # calls per timed sample
    samples: list[float] = dataclasses.field(default_factory=list)  # seconds per call

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def compile(self) -> float:
        return max(0.0, self.first - self.median)


def timed(f: Callable[[], object], n: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - start) / n


def round_robin(calls: dict[str, Callable], timings: dict[str, Timing], repeats: int) -> None:
    names = list(calls)
    for name in names:  # warm-up: the call after compilation sets the inner count
        once = timed(calls[name])
        timings[name].inner = max(1, min(100, math.ceil(MIN_SAMPLE_S / max(once, 1e-6))))
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            timings[name].samples.append(timed(calls[name], timings[name].inner))


def round_ratios(a: Timing, b: Timing) -> list[float]:
    return sorted(x / y for x, y in zip(a.samples, b.samples, strict=True))


def per_round_ratio(a: Timing, b: Timing) -> float:
    return statistics.median(round_ratios(a, b))


def first_call(f: Callable[[], object]) -> tuple[float, str | None]:
    """Seconds of the first call (compilation included), or the error it raised."""
    try:
        return timed(f), None
    except Exception as err:  # an implementation that cannot run this mode is reported
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return math.nan, f"{type(err).__name__}: {text[:160]}"


def run_workload(
    wl: Workload, names: list[str], repeats: int, log, precision: str, tolerance: float = 0.0
) -> dict:
    impls, missing, setup, failed = {}, {}, {}, {}
    for name in names:
        start = time.perf_counter()
        try:
            impls[name] = build_impl(name, wl, precision)
        except PeerMissing as err:
            missing[name] = str(err)
            log(f"  skip {name}: {err}")
            continue
        except Exception as err:  # a peer that breaks while building is left out, said why
            if name not in PEERS:
                raise
            missing[name] = f"{type(err).__name__}: {str(err).strip()[:160]}"
            log(f"  skip {name}: could not build it ({missing[name]})")
            continue
        setup[name] = time.perf_counter() - start
    timings = {mode: {} for mode in MODES}
    for name, impl in list(impls.items()):  # first calls: compile time for JAX
        for mode, call in (("fwd", impl.forward), ("bwd", impl.backward)):
            if call is None:  # a mode this implementation does not have
                continue
            first, error = first_call(call)
            if error:
                failed[name, mode] = error
                log(f"  FAILED {name} {MODE_TITLE[mode]}: {error}")
            else:
                timings[mode][name] = Timing(first=first)
        if (name, "fwd") in failed:
            if name in ("snnx", *HAND):
                raise CheckFailed(f"workload {wl.key}: {name} cannot run forward")
            del impls[name]
            continue
        first_bwd = timings["bwd"][name].first if name in timings["bwd"] else math.nan
        log(
            f"  built {name:11s} setup {setup[name]:6.2f} s, first fwd "
            f"{timings['fwd'][name].first:6.2f} s, first fwd+bwd {first_bwd:6.2f} s"
        )
    checks = check_outputs(wl, impls, failed, tolerance)
    for name, text in checks.items():
        log(f"  check {name:12s} {text}")
    for mode in MODES:
        calls = {
            n: getattr(impls[n], "forward" if mode == "fwd" else "backward") for n in timings[mode]
        }
        round_robin(calls, timings[mode], repeats)
    return {
        "impls": impls,
        "missing": missing,
        "failed": failed,
        "setup": setup,
        "timings": timings,
        "checks": checks,
    }


# --------------------------------------------------------------------------- memory


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(key: str, name: str, quick: bool, n: int, precision: str) -> None:
    """Run in a subprocess: print the extra peak RSS (MiB) one call adds, per mode."""
    wl = build(key, quick, n)
    impl = build_impl(name, wl, precision)
    result = {}
    for mode, call in (("fwd", impl.forward), ("bwd", impl.backward)):
        if call is None:
            continue
        try:
            call()
        except Exception:  # reported by the timing run
            continue
        call()
        peaks = []
        for _ in range(2):
            gc.collect()
            before = rss_kib("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark
            call()
            peaks.append(rss_kib("VmHWM") - before)
        result[mode] = max(peaks) / 1024
    result["process_peak"] = rss_kib("VmHWM") / 1024
    print("MEMORY " + json.dumps(result))


def measure_memory(key: str, names: list[str], args, log) -> dict[str, dict]:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "PYTHONWARNINGS": "ignore"}
    out = {}
    for name in names:
        cmd = [sys.executable, __file__, "--memory-child", key, name, *(["--quick"] * args.quick)]
        cmd += ["--linear-n", str(args.linear_n), "--precision", args.precision]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        line = [x for x in proc.stdout.splitlines() if x.startswith("MEMORY ")]
        if proc.returncode or not line:
            log(f"  memory {name}: failed ({proc.stderr.strip().splitlines()[-1:]})")
            continue
        out[name] = json.loads(line[0][7:])
        text = ", ".join(
            f"{MODE_TITLE[m]} +{out[name][m]:.1f} MiB" if m in out[name] else f"{MODE_TITLE[m]} -"
            for m in MODES
        )
        log(f"  memory {name:11s} {text} (process peak {out[name]['process_peak']:.0f} MiB)")
    return out


# --------------------------------------------------------------------------- report


def fmt_s(x: float) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.4f}" if x < 0.1 else f"{x:.3f}" if x < 10 else f"{x:.1f}"


def fmt_x(x: float) -> str:
    if math.isnan(x):
        return "-"
    return f"x{x:.2f}" if x < 10 else f"x{x:.1f}" if x < 100 else f"x{x:.0f}"


def summarise(wl: Workload, res: dict, memory: dict | None) -> tuple[str, dict]:
    t = res["timings"]
    nan = math.nan
    lines, data = [], {"title": wl.title, "profile": wl.profile, "impls": {}}
    best = {m: min((n for n in HAND if n in t[m]), key=lambda n: t[m][n].median) for m in MODES}

    def ratio(mode: str, a: str, b: str) -> float:
        return per_round_ratio(t[mode][a], t[mode][b]) if a in t[mode] and b in t[mode] else nan

    header = (
        f"{'impl':12s} {'fwd s':>8s} {'vs ' + best['fwd']:>13s} {'fwd+bwd s':>10s} "
        f"{'vs ' + best['bwd']:>13s} {'compile f/f+b s':>16s}"
    )
    if memory:
        header += f" {'peak +MiB f/f+b':>16s}"
    lines.append(header)
    for n in res["impls"]:
        row = {"setup_s": res["setup"][n], "note": res["impls"][n].note}
        cells, compile_cells = [], []
        for mode in MODES:
            if n not in t[mode] and (n, mode) not in res["failed"]:
                cells += ["-", "-"]
                compile_cells.append("-")
                row[mode] = None
                continue
            if n not in t[mode]:
                cells += ["failed", "-"]
                compile_cells.append("-")
                row[mode] = {"failed": res["failed"].get((n, mode))}
                continue
            tm = t[mode][n]
            r = ratio(mode, n, best[mode])
            cells += [fmt_s(tm.median), fmt_x(r)]
            compile_cells.append(f"{tm.compile:.2f}")
            row[mode] = {
                "median_s": tm.median,
                "min_s": min(tm.samples),
                "max_s": max(tm.samples),
                "samples_s": tm.samples,
                "calls_per_sample": tm.inner,
                "first_call_s": tm.first,
                "compile_s": tm.compile,
                "ratio_to_best_hand": r,
            }
        comp = "/".join(compile_cells)
        line = f"{n:12s} {cells[0]:>8s} {cells[1]:>13s} {cells[2]:>10s} {cells[3]:>13s} {comp:>16s}"
        if memory:
            m = memory.get(n)
            cell = "/".join(f"{m[k]:.0f}" if k in m else "-" for k in MODES) if m else "-"
            line += f" {cell:>16s}"
            row["memory_mib"] = m
        row["check"] = res["checks"].get(n)
        lines.append(line)
        data["impls"][n] = row
    data["best_hand"] = best
    verdicts = []
    for mode in MODES:
        if "snnx" not in t[mode]:
            verdicts.append(f"{MODE_TITLE[mode]} FAILED ({res['failed'][('snnx', mode)]})")
            continue
        r = ratio(mode, "snnx", best[mode])
        spread = round_ratios(t[mode]["snnx"], t[mode][best[mode]])
        ok = "ok" if r <= AIM_HAND else "MISSED"
        verdicts.append(
            f"{MODE_TITLE[mode]} {fmt_x(r)} ({ok}; rounds {spread[0]:.2f}-{spread[-1]:.2f})"
        )
    lines.append(f"snnx vs best hand-written JAX (aim <= x{AIM_HAND}): " + "; ".join(verdicts))
    call = ratio("fwd", "snnx", PROGRAM)
    if not math.isnan(call):
        spread = round_ratios(t["fwd"]["snnx"], t["fwd"][PROGRAM])
        ok = "ok" if call <= AIM_CALL else "MISSED"
        lines.append(
            f"snnx forward call vs its program (aim <= x{AIM_CALL}): {fmt_x(call)} "
            f"({ok}; rounds {spread[0]:.2f}-{spread[-1]:.2f})"
        )
    data["call_vs_program"] = call
    speedups = {}
    for peer in PEERS:
        if peer not in res["impls"]:
            continue
        speedups[peer] = {m: ratio(m, peer, "snnx") for m in MODES}
        text = (
            f"snnx speed-up over {peer}: fwd {fmt_x(speedups[peer]['fwd'])}, "
            f"fwd+bwd {fmt_x(speedups[peer]['bwd'])}"
        )
        aim = AIMS.get(wl.key, {}).get(peer)
        if aim:
            ok = all(v >= aim for v in speedups[peer].values())
            text += f" (aim >= x{aim:g}: {'ok' if ok else 'MISSED'})"
        lines.append(text)
    data["snnx_speedup"] = speedups
    faster = {}
    for m in MODES:
        ran = [n for n in ("snnx-layer", "snnx-step") if n in t[m]]
        faster[m] = min(ran, key=lambda n: t[m][n].median) if ran else "-"
    auto = res["impls"]["snnx"].note.split(": ", 1)[1]
    lines.append(
        f"schedules: faster of layer/step: fwd {faster['fwd']}, fwd+bwd {faster['bwd']}; "
        f"auto = {auto}"
    )
    for (n, mode), error in res["failed"].items():
        lines.append(f"FAILED {n} {MODE_TITLE[mode]}: {error}")
    data["failed"] = {f"{n} {mode}": e for (n, mode), e in res["failed"].items()}
    data["missing"] = res["missing"]
    return "\n".join(lines), data


def device_name() -> str:
    """JAX's device, in words (platform and kind), and torch's GPU where it has one."""
    import jax
    import torch

    device = jax.devices()[0]
    text = f"jax {device.platform} {getattr(device, 'device_kind', '')} x{jax.device_count()}"
    if torch.cuda.is_available():
        text += f"; torch cuda {torch.cuda.get_device_name(0)}"
    return text


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("snnx", "jax", "jaxlib", "torch", "snntorch", "norse", "spyx", "flax", "nir"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "missing"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workloads", nargs="+", default=["1", "2", "3", "4"], choices=KEYS, metavar="K"
    )
    parser.add_argument(
        "--precision", choices=("highest", "fast"), default="highest", help="product precision"
    )
    parser.add_argument(
        "--linear-n", type=int, help=f"workload 6's width (default {LINEAR_N}; 4096 on a CPU)"
    )
    parser.add_argument(
        "--check-tolerance",
        type=float,
        default=0.0,
        metavar="F",
        help="fraction of output spikes snnx and hand-written JAX may differ by (default 0)",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed rounds (default 5; quick 2)"
    )
    parser.add_argument("--quick", action="store_true", help="T / 5 and 2 rounds: a smoke test")
    parser.add_argument("--memory", action="store_true", help="peak memory, one subprocess each")
    parser.add_argument("--impls", nargs="+", default=list(ALL), help=f"subset of {' '.join(ALL)}")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument(
        "--torch-threads", type=int, help="torch.set_num_threads (default: torch's own choice)"
    )
    parser.add_argument(
        "--memory-child", nargs=2, metavar=("WORKLOAD", "IMPL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    import jax
    import torch

    if args.linear_n is None:
        args.linear_n = LINEAR_N if jax.default_backend() != "cpu" else 4096
    # torch on CUDA rounds products to TF32 where allowed: the same policy as JAX's
    torch.backends.cuda.matmul.allow_tf32 = args.precision == "fast"
    torch.backends.cudnn.allow_tf32 = args.precision == "fast"
    if args.memory_child:
        memory_child(*args.memory_child, args.quick, args.linear_n, args.precision)
        return 0
    repeats = args.repeats or (2 if args.quick else 5)
    names = [n for n in ALL if n in args.impls or n in ("snnx", *HAND)]

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    def log(text: str) -> None:
        print(text, flush=True)

    started = datetime.datetime.now().astimezone()
    info = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/bench_sim.py", *(argv or sys.argv[1:])]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "jax_devices": str(jax.devices()),
        "device": device_name(),
        "precision": args.precision,
        "torch_device": torch_device(),
        "torch_allow_tf32": {
            "matmul": torch.backends.cuda.matmul.allow_tf32,
            "cudnn": torch.backends.cudnn.allow_tf32,
        },
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ["OMP_WAIT_POLICY"],
        "versions": versions(),
        "repeats": repeats,
    }
    log(f"snnx simulator benchmark, {info['date']}")
    log(
        f"  device {info['device']}, precision {args.precision}; torch on {info['torch_device']} "
        f"(TF32 {'allowed' if args.precision == 'fast' else 'off'})"
    )
    log(
        f"  {info['machine']}; jax devices {info['jax_devices']}; torch threads {info['torch_threads']}, "
        f"OMP_WAIT_POLICY={info['omp_wait_policy']}"
    )
    log("  " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    log(
        f"  load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}: "
        "the cores are shared with other work, so absolute times are noisy; read the ratios, "
        "which are taken within each round"
    )
    results, tables, status = {}, [], 0
    for key in args.workloads:
        wl = build(key, args.quick, args.linear_n)
        log(f"\n== workload {key}: {wl.title}; snnx profile {wl.profile!r}; {repeats} rounds")
        load0 = os.getloadavg()[0]
        try:
            res = run_workload(wl, names, repeats, log, args.precision, args.check_tolerance)
        except CheckFailed as err:  # this workload is not timed; the others go on
            log(f"CHECK FAILED: {err}")
            results[key] = {"title": wl.title, "check_failed": str(err)}
            status = 1
            continue
        memory = measure_memory(key, list(res["impls"]), args, log) if args.memory else None
        table, data = summarise(wl, res, memory)
        data["load_average"] = [load0, os.getloadavg()[0]]
        data["checks"] = res["checks"]
        data["device"], data["precision"] = info["device"], args.precision
        results[key] = data
        if args.json:  # after every workload, so that a run cut short keeps what it measured
            args.json.write_text(json.dumps({**info, "workloads": results}, indent=1))
        text = (
            f"\n-- workload {key}: {wl.title} (load avg {load0:.1f} -> {os.getloadavg()[0]:.1f}; "
            f"median s per call over {repeats} rounds; ratios: median over rounds)\n{table}"
        )
        tables.append(text)
        log(text)
        gc.collect()
    log("\n== summary\n" + "\n".join(tables))
    if args.json:
        args.json.write_text(json.dumps({**info, "workloads": results}, indent=1))
        log(f"\nwrote {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
