"""`snnx.dynamics`, the one definition of a neuron step: its coefficients against the analytic
solutions of NIR's equations (and a fine numerical integration of the coupled current-based pair),
the same step in numpy, JAX and torch, and the rule that no other module computes coefficients,
resolves field overrides or names node-type categories (they ask `snnx.dynamics` and
`snnx.ir.schema`)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import snnx
from snnx import dynamics
from snnx.ir.schema import SCHEMA

SRC = Path(snnx.__file__).parent


@pytest.mark.parametrize("integrator", ["euler", "exact", "exp-decay"])
def test_leaky_coefficients_are_the_analytic_step(integrator):
    """``tau dv/dt = v_leak - v + r x``: Euler's step, the exact solution with ``x`` held over the
    step, and the exponential decay with Euler's gain, written out by hand."""
    dt, tau, r, leak = 1e-4, 2.5e-3, 3.0, 0.2
    fields = {"tau": tau, "r": r, "v_leak": leak, "v_threshold": 1.0}
    q = dynamics.coefficients("LIF", fields, snnx.Semantics(dt=dt, integrator=integrator))
    a = 1 - dt / tau if integrator == "euler" else np.exp(-dt / tau)
    gain = 1 - a if integrator == "exact" else dt / tau
    np.testing.assert_allclose([q["A"], q["B"], q["C"]], [a, r * gain, leak * (1 - a)], rtol=1e-14)


def _coupled_step(tau_syn, tau_mem, r, leak, w_in, dt, i0, v0, x, substeps=20000):
    """One step of ``tau_syn di/dt = -i + w_in x``, ``tau_mem dv/dt = leak - v + r i`` with ``x``
    held, by classic Runge-Kutta on a fine grid (independent of snnx's closed form)."""

    def f(state):
        i, v = state
        return np.array([(-i + w_in * x) / tau_syn, (leak - v + r * i) / tau_mem])

    h, y = dt / substeps, np.array([i0, v0], np.float64)
    for _ in range(substeps):
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


@pytest.mark.parametrize("tau_syn", [3e-4, 5e-4, 5e-4 * (1 + 1e-10)])
def test_exact_cuba_step_solves_the_coupled_equations(tau_syn):
    """The exact integrator's CubaLIF step against a numerical solution of the coupled pair,
    at distinct, equal and nearly equal time constants (the closed form's removable
    singularity)."""
    dt, tau_mem, r, leak, w_in = 1e-4, 5e-4, 1.5, 0.1, 2.0
    fields = {"tau_syn": tau_syn, "tau_mem": tau_mem, "r": r, "v_leak": leak, "w_in": w_in}
    q = dynamics.coefficients("CubaLI", fields, snnx.Semantics(dt=dt, integrator="exact"))
    for i0, v0, x in [(0.0, 0.0, 1.0), (0.7, -0.3, 0.0), (-0.2, 0.5, 2.5)]:
        i_new, v_new = dynamics.integrate(q, v0, i0, x)
        want = _coupled_step(tau_syn, tau_mem, r, leak, w_in, dt, i0, v0, x)
        np.testing.assert_allclose([i_new, v_new], want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("current", ["new", "previous"])
def test_euler_cuba_takes_the_new_or_the_previous_current(current):
    """Euler on both equations; the voltage integrates ``i'`` (new) or ``i`` (previous)."""
    dt, ts, tm, r, leak, w_in = 1e-4, 3e-4, 5e-4, 1.5, 0.1, 2.0
    fields = {"tau_syn": ts, "tau_mem": tm, "r": r, "v_leak": leak, "w_in": w_in}
    q = dynamics.coefficients("CubaLI", fields, snnx.Semantics(dt=dt, current=current))
    i0, v0, x = 0.4, -0.1, 1.3
    i_new = i0 + dt / ts * (-i0 + w_in * x)
    used = i_new if current == "new" else i0
    v_new = v0 + dt / tm * (leak - v0 + r * used)
    np.testing.assert_allclose(dynamics.integrate(q, v0, i0, x), (i_new, v_new), rtol=1e-12)


def test_field_overrides_and_the_start_voltage():
    """Norse reads ``r = 1`` and resets to 0 whatever the file says, and starts at ``v_leak``;
    SpikingJelly starts at ``v_reset``."""
    lif = {"tau": 2e-3, "r": 5.0, "v_leak": 0.3, "v_threshold": 1.0, "v_reset": -0.2}
    norse = dynamics.coefficients("LIF", lif, snnx.Semantics.profile("norse-nir", dt=1e-4))
    assert norse["B"] == pytest.approx(1e-4 / 2e-3)
    assert norse["v0"] == pytest.approx(0.3) and norse["v_reset"] == 0.0
    sj = dynamics.coefficients("LIF", lif, snnx.Semantics.profile("spikingjelly"))
    assert sj["v0"] == pytest.approx(-0.2)


SEMANTICS = [
    snnx.Semantics(dt=1e-3, integrator="exact", reset="subtract", max_spikes=0, threshold=">="),
    snnx.Semantics(dt=1e-3, reset_timing="next-step", spike_output="next-step"),
    snnx.Semantics(dt=1e-3, reset="subtract", reset_timing="next-step", v_min="-threshold"),
    snnx.Semantics(dt=1e-3, current="previous", spike_amplitude="1/dt", max_spikes=3),
]


@pytest.mark.parametrize("semantics", SEMANTICS, ids=range(len(SEMANTICS)))
@pytest.mark.parametrize("node_type", ["IF", "LIF", "CubaLIF"])
def test_numpy_jax_and_torch_take_the_same_steps(node_type, semantics):
    """Consistency of one definition run by three array libraries (float64 everywhere, so the
    only differences would be the step's own logic): 30 steps of random input, spikes equal."""
    import jax
    import torch

    rng = np.random.default_rng(4)
    n = 16
    every = {
        "tau": 4e-3,
        "tau_syn": 2e-3,
        "tau_mem": 5e-3,
        "r": 1.2,
        "v_leak": 0.05,
        "w_in": 1.5,
        "v_threshold": 0.4,
        "v_reset": -0.05,
    }
    fields = {k: np.full(n, v) for k, v in every.items() if k in SCHEMA[node_type]}
    xs = rng.uniform(0, 0.6, (30, n)) * (100.0 if node_type == "IF" else 1.0)
    spike = {
        "numpy": lambda d: ((d >= 0) if semantics.threshold == ">=" else (d > 0)) * 1.0,
        "jax": lambda d: ((d >= 0) if semantics.threshold == ">=" else (d > 0)) * 1.0,
        "torch": lambda d: ((d >= 0) if semantics.threshold == ">=" else (d > 0)).double(),
    }
    libraries = {
        "numpy": (dynamics.NUMPY, np.asarray),
        "jax": (dynamics.jax_arithmetic(), jax.numpy.asarray),
        "torch": (dynamics.torch_arithmetic(), torch.as_tensor),
    }
    runs = {}
    with jax.enable_x64(True):
        for name, (ar, array) in libraries.items():
            q = dynamics.coefficients(
                node_type, {k: array(v) for k, v in fields.items()}, semantics, ar
            )
            state = dynamics.rest_state(q, array(np.zeros(n)), node_type, semantics)
            outs = []
            for x in xs:
                state, out = dynamics.step(
                    q, state, array(x), node_type, semantics, spike[name], ar
                )
                outs.append(np.asarray(out, np.float64))
            runs[name] = np.stack(outs)
    assert runs["numpy"].any() and not runs["numpy"].all()
    np.testing.assert_array_equal(runs["jax"], runs["numpy"])
    np.testing.assert_array_equal(runs["torch"], runs["numpy"])


# -- one home per idea: checked on the source -------------------------------------------------------


def _coefficient_code(tree: ast.AST) -> list[tuple[int, str]]:
    """Where code (not prose) computes a decay from ``dt`` (``exp(... dt ...)``, ``1 - dt / tau``)
    or resolves field overrides itself (``semantics.field_overrides(...)``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            text = ast.unparse(node)
            if name in ("exp", "expm1", "log") and "dt" in text:
                found.append((node.lineno, text))
            if name == "field_overrides":
                found.append((node.lineno, text))
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Sub)
            and isinstance(node.left, ast.Constant)
            and node.left.value == 1
            and isinstance(node.right, ast.BinOp)
            and isinstance(node.right.op, ast.Div)
            and "dt" in ast.unparse(node.right.left)
        ):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_coefficient_or_override_logic_outside_the_dynamics_module():
    """Decays, gains and field overrides are computed in `snnx.dynamics` alone; everyone else
    calls it (BrainScaleS-2's continuous-time kernels, `snnx.targets.bss2.grid`, integrate
    the ODE between events rather than stepping it, and are not a discretisation)."""
    offenders = [
        f"{path.relative_to(SRC)}:{line}: {text}"
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).as_posix() not in ("dynamics.py", "targets/bss2/grid.py")
        for line, text in _coefficient_code(ast.parse(path.read_text()))
    ]
    assert not offenders, offenders


def test_no_node_type_category_literal_outside_the_schema():
    """A collection of two or more NIR type names is a category, which `snnx.ir.schema` owns,
    whether written as a tuple, list or set or as the arguments of a call
    (``graph.of_type("LIF", "CubaLIF")``); the exceptions are support declarations: a
    module-level ``*SUPPORTED`` tuple (the types a target or a peer's importer runs) and the
    simulator's ``register(...)`` of one op for several types."""
    types = set(SCHEMA) - {"NIRGraph"}
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "schema.py":
            continue
        tree = ast.parse(path.read_text())
        declared = {
            id(assign.value)
            for assign in tree.body
            if isinstance(assign, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id.endswith("SUPPORTED") for t in assign.targets)
        }
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and id(node) not in declared:
                elements = node.elts
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) != "register":
                elements = node.args
            else:
                continue
            names = [e.value for e in elements if isinstance(e, ast.Constant)]
            if len(names) >= 2 and all(isinstance(n, str) for n in names) and set(names) <= types:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}: {names}")
    assert not offenders, offenders
