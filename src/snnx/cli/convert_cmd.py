"""Convert a model between a .nir file, a PyTorch model, TorchScript and a saved Equinox model.

The source is a .nir file, or a PyTorch model built by ``--torch package.module:factory`` (a
callable returning the ``torch.nn.Module``; snnTorch, Norse, Sinabs, SpikingJelly and plain
torch.nn layers) with its weights from ``--weights state.pt`` (a state dict, read with
``torch.load(..., weights_only=True)``) and its per-sample input ``--shape``. The destination's
kind follows its extension (or ``--to``): ``.nir``; ``.pt``/``.ts`` a TorchScript module
(``forward(xs, state=None) -> (ys, state)`` over ``(T, B, *shape)``, ``init_state(batch)``);
``.eqx`` an Equinox model (`snnx.convert.load_equinox`). ``--profile``/``--dt`` give the semantics
where the source says none; where it does, they re-express the model for them (or fail saying
why). Nothing is written on failure."""

from __future__ import annotations

import argparse

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
    parser.add_argument("--weights", metavar="STATE.pt", help="state dict for the --torch model")
    parser.add_argument("--shape", help="per-sample input shape of the --torch model, e.g. 2,34,34")
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
        from snnx.convert.torch_export import to_torchscript

        module = to_torchscript(graph)
        with atomic_path(args.output) as tmp:
            torch.jit.save(module, str(tmp))
    else:
        from snnx.convert.jax_export import save_equinox, to_equinox

        save_equinox(to_equinox(graph), args.output)
    print(f"wrote {args.output} ({kind}; {graph.semantics.describe()})")
    return 0


def _source(args: argparse.Namespace):
    from snnx.errors import SnnxError

    if args.torch:
        if args.src:
            raise SnnxError("give either a source .nir file or --torch, not both")
        return _from_torch(args)
    if args.weights or args.shape:
        raise SnnxError("--weights and --shape go with --torch")
    if not args.src:
        raise SnnxError("give a source .nir file or --torch MODULE:FACTORY")
    from snnx.ir.nirfile import read

    return read(args.src)


def _from_torch(args: argparse.Namespace):
    import importlib

    import torch

    from snnx.convert.torch_import import from_torch
    from snnx.errors import SnnxError

    module_name, _, factory_name = args.torch.partition(":")
    if not module_name or not factory_name:
        raise SnnxError(f"--torch wants MODULE:FACTORY, got {args.torch!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise SnnxError(f"cannot import {module_name!r} ({err})") from None
    factory = module
    for part in factory_name.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise SnnxError(f"{module_name!r} has no {factory_name!r}")
    model = factory()
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
    if not args.shape:
        raise SnnxError("--torch needs --shape, the per-sample input shape (e.g. 12 or 2,34,34)")
    try:
        shape = tuple(int(n) for n in args.shape.replace("x", ",").split(",") if n.strip())
    except ValueError:
        raise SnnxError(f"--shape wants integers separated by commas, got {args.shape!r}") from None
    model.eval()
    return from_torch(model, shape=shape, dt=args.dt)


def _semantics(graph, args: argparse.Namespace):
    from snnx.semantics import Semantics

    if graph.semantics is None:
        semantics = Semantics.profile(args.profile or "nir-reference")
        if args.dt is not None:
            semantics = semantics.replace(dt=args.dt)
        graph.semantics = semantics
        return graph
    if args.profile is None and (args.dt is None or args.torch):
        return graph
    from snnx.convert.express import express

    target = Semantics.profile(args.profile) if args.profile else graph.semantics
    if args.dt is not None:
        target = target.replace(dt=args.dt)
    return express(graph, target)
