"""The ``xdancer`` command. Each module in this package adds its subcommands through ``register``.

A subcommand module defines ``register(add_command)``, where ``add_command("train", "tokenizer",
help="...")`` returns a fresh ``argparse.ArgumentParser`` for ``xdancer train tokenizer``; the module
then adds its arguments and ``parser.set_defaults(func=run)``. ``run(args)`` builds a config and
calls one library function. Modules import heavy libraries inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable

from xdancer import __version__
from xdancer.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xdancer",
        description="Make the person in a photo dance to music (X-Dancer).",
    )
    parser.add_argument("--version", action="version", version=f"xdancer {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}

    def add_command(*names: str, help: str) -> argparse.ArgumentParser:
        if len(names) == 1:
            return top.add_parser(names[0], help=help, description=help)
        group, name = names
        if group not in groups:
            gp = top.add_parser(group, help=f"{group} commands")
            groups[group] = gp.add_subparsers(dest=f"{group}_command", metavar="WHAT", required=True)
        return groups[group].add_parser(name, help=help, description=help)

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register: Callable | None = getattr(module, "register", None)
        if register is not None:
            register(add_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        args.func(args)
    except InputError as e:
        print(f"xdancer: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xdancer: interrupted", file=sys.stderr)
        return 130
    return 0
