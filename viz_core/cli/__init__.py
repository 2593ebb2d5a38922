"""``demons-viz``: headless runs, kernels, the model zoo, evaluation and metrics.

One module per subcommand (``viz_core/cli/<name>.py``), each with ``HELP``,
``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> exit code``; a new subcommand
is one module and one line in :data:`COMMANDS`. Shared parsers, choice lists, the output
check and the progress bar are in :mod:`viz_core.cli.common`.

Every error a user can cause ends with a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import warnings
from collections.abc import Iterator, Mapping
from types import ModuleType

from viz_core.cli.parser import VizParser
from viz_core.cli.words import cli_words, flag_map
from viz_core.errors import VizError

EXIT_USAGE = 2


class _Commands(Mapping):
    """Subcommand name -> its module, imported on first use (``history`` needs no torch)."""

    def __init__(self, names: list[str]) -> None:
        self._names = names

    def __getitem__(self, name: str) -> ModuleType:
        if name not in self._names:
            raise KeyError(name)
        return importlib.import_module(f"viz_core.cli.{name}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


#: Subcommand name -> its module (the order of ``demons-viz --help``).
COMMANDS: Mapping[str, ModuleType] = _Commands(
    ["models", "kernels", "visualize", "evaluate", "metrics", "sweep", "sanity",
     "history"])


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``only`` (imports just that module)."""
    p = VizParser(prog="demons-viz", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=VizParser, required=True)
    for name in [only] if only in COMMANDS else list(COMMANDS):
        module = COMMANDS[name]
        sp = sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(sp)
        sp.set_defaults(handler=module.run)
    return p


def run() -> None:
    """``demons-viz`` and ``python -m viz_core``: :func:`main`, then exit with its code. When
    a ``ray.init`` given up on (a dead or non-Ray ``--ray-address``) still blocks in Ray's
    C++, the program leaves at once (``os._exit``): at the interpreter's normal exit Ray may
    abort the process (SIGABRT) after the message was printed."""
    code = main()
    mod = sys.modules.get("viz_core.sweeps.raycluster")
    if mod is not None and mod.abandoned_connect():
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    # torch's deprecation of torch.jit.load is not the user's to act on: keep it off the
    # terminal, where it would precede the one-line message of a bad model file
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated",
                            category=FutureWarning)
    previous = _terminate_as_interrupt()
    parser = None
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(argv[0] if argv else None)
        args = parser.parse_args(argv)
        args.argv = argv
        return int(args.handler(args) or 0)
    except VizError as exc:  # one line, the library's field names as this command's flags
        text = cli_words(" ".join(str(exc).split()), flag_map(parser))
        print(f"error: {text}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (``| head``): nothing left to say
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, RuntimeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in msg:
            msg = f"{exc.strerror or msg}: {exc.filename}"  # which file (a full disk, say)
        if "out of memory" in msg.lower():
            msg += " (try a smaller image, fewer schemes per batch, or --device cpu)"
        print(f"error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_as_interrupt():
    """SIGTERM ends a command like Ctrl-C: ``finally`` blocks run, so a sweep shuts down
    the Ray it started and every process of it. Returns the handler it replaced (None
    outside the main thread, where nothing is replaced)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (e.g. main() called from a worker thread)
        return None


if __name__ == "__main__":
    sys.exit(main())
