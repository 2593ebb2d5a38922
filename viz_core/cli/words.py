"""A library message in the command line's words.

The one rule: a core message (:class:`~viz_core.errors.VizError` raised by the library)
names a run configuration's field or a function's argument as a Python user writes it
(``target=``, ``executor='ray'``, ``max_retries=3``); ``demons-viz`` shows the flag
instead (``--target``, ``--executor ray``, ``--max-retries 3``). The flags are read from
the parser of the subcommand that ran (:func:`flag_map`), so the map cannot drift from
them; a name that is no flag of that subcommand stays as it is. No heavy imports.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping

#: Library arguments named otherwise than the flag that sets them (the Ray options of
#: ``viz_core.sweeps.executors.run_sweep``, ``folder_images``' labels file): argument ->
#: the flag's dest.
ARGUMENT_DESTS = {"address": "ray_address", "num_workers": "workers",
                  "connect_timeout": "ray_timeout", "labels_file": "labels"}

#: Phrases of the Python API with no flag of their own, and what the command line says
#: (``weights='random'``: :func:`random_weights`, the flags of the command that ran).
CLI_WORDS = (("or pass allow_download=True, or use weights='random'",
              "or use weights='random'"),
             ("html_report()", "--format html"))

# ``name=`` (not inside a quoted value, a word or a call ``f(name=...)``), then a 'quoted'
# value, a number, or nothing (followed by a space, punctuation or the end)
_ARGUMENT = re.compile(r"(?<![\w.'\",=/-])(?<!\w\()([a-z][a-z0-9_]*)="
                       r"(?:'([^'\s]*)'|(-?\d[\w.]*)|(?=[\s,;:.)]|$))")


def flag_map(parser: argparse.ArgumentParser | None) -> dict[str, str]:
    """Field or argument name -> long flag, for every option of ``parser`` and of its
    subcommands (the first subcommand that has a dest names it), plus
    :data:`ARGUMENT_DESTS`.

    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("--ray-address"); _ = p.add_argument("-n", "--n")
    >>> flag_map(p)["address"], flag_map(p)["n"]
    ('--ray-address', '--n')
    """
    out: dict[str, str] = {}
    for action in parser._actions if parser is not None else []:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for name, flag in flag_map(sub).items():
                    out.setdefault(name, flag)
            continue
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in ("help", argparse.SUPPRESS):
            out[action.dest] = longs[0]
    for name, dest in ARGUMENT_DESTS.items():
        if dest in out:
            out.setdefault(name, out[dest])
    return out


def random_weights(flags: Mapping[str, str] | None) -> str:
    """How a command asks for random weights: its ``--weights random``, else each of its
    ``--weights-X random`` (``evaluate``'s two networks), else "" (no such flag); without
    ``flags``, the common ``--weights random``.

    >>> random_weights({"weights_a": "--weights-a", "weights_b": "--weights-b"})
    '--weights-a random or --weights-b random'
    """
    if flags is None or "weights" in flags:
        return f"{(flags or {}).get('weights', '--weights')} random"
    return " or ".join(f"{f} random" for d, f in flags.items() if d.startswith("weights_"))


def cli_words(text: str, flags: Mapping[str, str] | None = None) -> str:
    """A library message in the command line's terms: each ``name=`` that ``flags`` (from
    :func:`flag_map`) knows becomes its flag, with its value as the flag's argument.

    >>> cli_words("not available offline, or pass allow_download=True, or use "
    ...           "weights='random'.")
    'not available offline, or use --weights random.'
    >>> flags = {"target": "--target", "executor": "--executor", "max_retries": "--max-retries"}
    >>> cli_words("needs a class (target=); address= needs executor='ray' (max_retries=3)",
    ...           flags)
    'needs a class (--target); address= needs --executor ray (--max-retries 3)'
    """
    for api, cli in CLI_WORDS:
        text = text.replace(api, cli)
    hint = random_weights(flags)
    text = text.replace(", or use weights='random'", f", or use {hint}" if hint else "")
    text = text.replace("weights='random'", hint or "weights='random'")
    flags = flags or {}

    def flag(m: re.Match) -> str:
        name, value = m.group(1), m.group(2) if m.group(2) is not None else m.group(3)
        if name not in flags:
            return m.group(0)
        return flags[name] if value is None else f"{flags[name]} {value}"

    return _ARGUMENT.sub(flag, text)
