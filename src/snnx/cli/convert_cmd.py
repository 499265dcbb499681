"""Convert a model between a .nir file, a PyTorch model, TorchScript and a saved Equinox model.

The source is a .nir file, or a PyTorch model built by ``--torch package.module:factory`` (a
callable returning the ``torch.nn.Module``; snnTorch, Norse, Sinabs, SpikingJelly and plain
torch.nn layers) with its weights from ``--weights state.pt`` (a state dict, read with
``torch.load(..., weights_only=True)``) and its per-sample input ``--shape``; or a SNNAX model
(``--snnax package.module:factory``, weights from ``--weights model.eqx``, Equinox's
``tree_serialise_leaves``) or a Slax model (``--slax package.module:factory`` returning the Flax
module, its variables from ``--weights variables.msgpack``, ``flax.serialization.to_bytes``),
also with ``--shape``; or a Rockpool model (``--rockpool package.module:factory`` returning it
with its parameters: `snnx.from_rockpool`). The destination's
kind follows its extension (or ``--to``): ``.nir``; ``.pt``/``.ts`` a TorchScript module
(``forward(xs, state=None) -> (ys, state)`` over ``(T, B, *shape)``, ``init_state(batch)``);
``.eqx`` an Equinox model (`snnx.exporters.load_equinox`). ``--profile``/``--dt`` give the semantics
where the source says none; where it does, they re-express the model for them (or fail saying
why). Nothing is written on failure."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snnx.ir.graph import Graph


ORDER = 40
HELP = "convert between .nir, PyTorch (TorchScript) and Equinox models"
KINDS = {".nir": "nir", ".pt": "torchscript", ".ts": "torchscript", ".eqx": "equinox"}


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``snnx convert``."""
    parser.add_argument("src", nargs="?", help="the source .nir file (omit with --torch)")
    parser.add_argument("-o", "--output", required=True, help="the file to write")
    parser.add_argument(
        "--torch", metavar="MODULE:FACTORY", help="build the source model by calling this"
    )
    parser.add_argument(
        "--snnax", metavar="MODULE:FACTORY", help="build a SNNAX source model by calling this"
    )
    parser.add_argument(
        "--slax", metavar="MODULE:FACTORY", help="build a Slax (Flax) source module by calling this"
    )
    parser.add_argument(
        "--rockpool", metavar="MODULE:FACTORY", help="build a Rockpool source model by calling this"
    )
    parser.add_argument(
        "--weights",
        metavar="FILE",
        help="weights: a state dict (.pt, --torch), Equinox leaves (.eqx, --snnax), Flax "
        "variables (.msgpack, --slax)",
    )
    parser.add_argument("--shape", help="per-sample input shape of the built model, e.g. 2,34,34")
    parser.add_argument("--to", choices=sorted(set(KINDS.values())), help="destination kind")
    parser.add_argument("--profile", help="semantics profile where the source says none")
    parser.add_argument("--dt", type=float, help="time step in seconds (with --profile)")


def run(args: argparse.Namespace) -> int:
    """Read or build the source, convert, write atomically."""
    from pathlib import Path

    from snnx.errors import SnnxError

    kind = args.to or KINDS.get(Path(args.output).suffix.lower())
    if kind is None:
        raise SnnxError(
            f"cannot tell the kind of {args.output!r} from its extension; use one of "
            f"{', '.join(KINDS)} or --to",
        )
    graph = _source(args)
    graph = _semantics(graph, args)
    if kind == "nir":
        from snnx.ir.nirfile import write

        write(graph, args.output)
    elif kind == "torchscript":
        import torch

        from snnx.atomic import atomic_path
        from snnx.exporters.torch import to_torchscript

        module = to_torchscript(graph)
        with atomic_path(args.output) as tmp:
            torch.jit.save(module, str(tmp))
    else:
        from snnx.exporters.equinox import save_equinox, to_equinox

        save_equinox(to_equinox(graph), args.output)
    assert graph.semantics is not None  # `_semantics` gave the graph its semantics
    print(f"wrote {args.output} ({kind}; {graph.semantics.describe()})")
    return 0


def _source(args: argparse.Namespace) -> Graph:
    from snnx.errors import SnnxError

    builders = [flag for flag in ("torch", "snnax", "slax", "rockpool") if getattr(args, flag)]
    if len(builders) > 1 or (builders and args.src):
        raise SnnxError("give one source: a .nir file, --torch, --snnax, --slax or --rockpool")
    if builders == ["rockpool"]:
        if args.weights or args.shape:
            raise SnnxError("--rockpool takes neither --weights nor --shape: the model has both")
        from snnx.importers.rockpool import from_rockpool

        return from_rockpool(_factory(args.rockpool, "rockpool"))
    if builders:
        return {"torch": _from_torch, "snnax": _from_snnax, "slax": _from_slax}[builders[0]](args)
    if args.weights or args.shape:
        raise SnnxError("--weights and --shape go with --torch, --snnax or --slax")
    if not args.src:
        raise SnnxError("give a source .nir file or --torch/--snnax/--slax MODULE:FACTORY")
    from snnx.ir.nirfile import read

    return read(args.src)


def _factory(spec: str, flag: str) -> Any:
    """Call ``package.module:factory`` and return what it builds."""
    import importlib

    from snnx.errors import SnnxError

    module_name, _, factory_name = spec.partition(":")
    if not module_name or not factory_name:
        raise SnnxError(f"--{flag} wants MODULE:FACTORY, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise SnnxError(f"cannot import {module_name!r} ({err})") from None
    factory: Any = module
    for part in factory_name.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise SnnxError(f"{module_name!r} has no {factory_name!r}")
    return factory()


def _shape(args: argparse.Namespace, flag: str) -> tuple[int, ...]:
    from snnx.errors import SnnxError

    if not args.shape:
        raise SnnxError(f"--{flag} needs --shape, the per-sample input shape (e.g. 12 or 2,34,34)")
    try:
        return tuple(int(n) for n in args.shape.replace("x", ",").split(",") if n.strip())
    except ValueError:
        raise SnnxError(f"--shape wants integers separated by commas, got {args.shape!r}") from None


def _from_torch(args: argparse.Namespace) -> Graph:
    import torch

    from snnx.errors import SnnxError
    from snnx.importers.torch import from_torch

    model = _factory(args.torch, "torch")
    if not isinstance(model, torch.nn.Module):
        raise SnnxError(f"{args.torch} returned a {type(model).__name__}, not a torch.nn.Module")
    if args.weights:
        try:
            state = torch.load(args.weights, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many kinds for unreadable files
            line = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise SnnxError(f"cannot read a state dict ({line})", file=args.weights) from None
        if not isinstance(state, dict):
            raise SnnxError("does not hold a state dict", file=args.weights)
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise SnnxError(
                f"does not fit the model: missing {result.missing_keys[:5]}, unexpected "
                f"{result.unexpected_keys[:5]}",
                file=args.weights,
            )
    shape = _shape(args, "torch")
    model.eval()
    return from_torch(model, shape=shape, dt=args.dt)


def _from_snnax(args: argparse.Namespace) -> Graph:
    import equinox as eqx

    from snnx.errors import SnnxError
    from snnx.importers.snnax import from_snnax

    model = _factory(args.snnax, "snnax")
    if args.weights:
        try:
            model = eqx.tree_deserialise_leaves(args.weights, model)
        except Exception as err:  # Equinox raises several kinds for a file that does not fit
            line = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise SnnxError(f"cannot load the model's leaves ({line})", file=args.weights) from None
    shape = _shape(args, "snnax")
    return from_snnax(model, shape, **({"dt": args.dt} if args.dt else {}))


def _from_slax(args: argparse.Namespace) -> Graph:
    import jax
    import jax.numpy as jnp
    from flax import serialization

    from snnx.errors import SnnxError
    from snnx.importers.slax import from_slax

    module = _factory(args.slax, "slax")
    shape = _shape(args, "slax")
    variables = module.init(jax.random.PRNGKey(0), jnp.zeros((1, *shape), jnp.float32))
    if args.weights:
        try:
            with open(args.weights, "rb") as f:
                variables = serialization.from_bytes(variables, f.read())
        except Exception as err:  # msgpack and Flax raise several kinds for a bad file
            line = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise SnnxError(f"cannot load Flax variables ({line})", file=args.weights) from None
    return from_slax(module, variables, shape, **({"dt": args.dt} if args.dt else {}))


def _semantics(graph: Graph, args: argparse.Namespace) -> Graph:
    from snnx.semantics import Semantics

    if graph.semantics is None:
        semantics = Semantics.profile(args.profile or "nir-reference")
        if args.dt is not None:
            semantics = semantics.replace(dt=args.dt)
        graph.semantics = semantics
        return graph
    if args.profile is None and (args.dt is None or args.torch or args.snnax or args.slax):
        return graph
    from snnx.passes.express import express

    target = Semantics.profile(args.profile) if args.profile else graph.semantics
    if args.dt is not None:
        target = target.replace(dt=args.dt)
    return express(graph, target)
