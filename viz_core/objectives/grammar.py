"""The grammar of ``--objective`` (a small recursive-descent parser; nothing is evaluated
as Python)::

    expr    := product (("+" | "-") product)*
    product := unary ("*" unary)*
    unary   := "-" unary | "(" expr ")" | NUMBER | NAME "(" [arg ("," arg)*] ")"
    arg     := [NAME "="] value        value := ["-"] WORD | 'quoted' | "[" value, ... "]"

``NAME`` is an objective registered in :data:`~viz_core.objectives.algebra.OBJECTIVES`;
its annotations type the arguments (a layer is a ``str``: ``block3``, ``features.29``,
``3`` or ``'odd name'``). Terms add and subtract; numbers only scale them. Every invalid
string is one :class:`VizError` naming what is wrong and where: also a weight that is not a
finite number or too large for the data term (eqs. 1-4) in single precision
(:func:`~viz_core.objectives.algebra.weight_problem`: ``nan*``, ``inf*``, ``1e999*``,
``1e300*``, or a product of numbers that overflows), and an objective whose every term has
weight 0 (nothing to optimise).
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
from typing import Any

from viz_core.errors import VizError
from viz_core.objectives.algebra import OBJECTIVES, Term, weight_problem

__all__ = ["parse_objective"]

_TOKEN = re.compile(r"""\s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+(?![\w.]))
  | (?P<word>[A-Za-z0-9_.]+)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>[()\[\],*+\-=])
)""", re.X)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].lstrip()[:1]
            raise _error(text, f"unexpected character {bad!r}", len(text) - len(text[pos:]
                                                                               .lstrip()))
        kind = m.lastgroup
        value = m.group(kind)
        out.append(("word" if kind == "num" else kind, value, m.start(kind)))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


def _error(text: str, msg: str, pos: int | None = None) -> VizError:
    """``objective 'TEXT' at character N: MSG`` (the place before the message, which may
    end in a list)."""
    where = f" at character {pos + 1}" if pos is not None else ""
    return VizError(f"objective {text!r}{where}: {msg}", field="objective")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        if value is not None and tok[1] != value:
            found = repr(tok[1]) if tok[0] != "end" else "the end"
            raise _error(self.text, f"expected {value!r}, found {found}", tok[2])
        self.i += 1
        return tok

    def expr(self) -> Term | float:
        left = self.product()
        while self.peek()[1] in ("+", "-"):
            op, _, pos = self.take()[1], None, self.peek()[2]
            right = self.product()
            if not isinstance(left, Term) or not isinstance(right, Term):
                raise _error(self.text, "a number cannot be added to an objective (numbers "
                             "only scale terms: 0.1*diversity(layer))", pos)
            left = left + right if op == "+" else left - right
        return left

    def product(self) -> Term | float:
        start = self.peek()[2]
        left = self.unary()
        while self.peek()[1] == "*":
            pos = self.take()[2]
            right = self.unary()
            if isinstance(left, Term) and isinstance(right, Term):
                raise _error(self.text, "two objectives cannot be multiplied", pos)
            self.check_product(left, right, start)
            left = left * right
        return left

    def check_product(self, left: Term | float, right: Term | float, start: int) -> None:
        """A product of numbers, or a number times a term, whose weight is not finite or too
        large (:func:`weight_problem`), named as typed from ``start``."""
        k = left * right if not isinstance(left, Term) and not isinstance(right, Term) else \
            None
        if k is None:
            term, factor = (left, right) if isinstance(left, Term) else (right, left)
            weights = [c * factor for c, _ in term.parts]
        else:
            weights = [k]
        for w in weights:
            problem = weight_problem(w)
            if problem:
                shown = self.text[start:self.peek()[2]].strip()
                raise _error(self.text, f"weight {w:g} of {shown!r} {problem}", start)

    def unary(self) -> Term | float:
        kind, value, pos = self.peek()
        if value == "-":
            self.take()
            return -self.unary()
        if value == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "word":
            self.take()
            if self.peek()[1] == "(":
                return self.call(value, pos)
            try:
                number = float(value)
            except ValueError:
                raise _error(self.text, f"{value!r} is neither a number nor an objective "
                             "call NAME(...)", pos) from None
            problem = weight_problem(number)
            if problem:
                raise _error(self.text, f"weight {value!r} {problem}", pos)
            return number
        found = repr(value) if kind != "end" else "the end"
        raise _error(self.text, f"expected a number or an objective, found {found}", pos)

    def call(self, name: str, pos: int) -> Term:
        if name not in OBJECTIVES:
            close = difflib.get_close_matches(name, list(OBJECTIVES), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise _error(self.text, f"unknown objective {name!r}{hint}; known: "
                         f"{', '.join(sorted(OBJECTIVES))}", pos)
        self.take("(")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        while self.peek()[1] != ")":
            if args or kwargs:
                self.take(",")
            kind, value, at = self.peek()
            if kind == "word" and self.toks[self.i + 1][1] == "=":
                self.i += 2
                kwargs[value] = (self.value(), at)
            elif kwargs:
                raise _error(self.text, "a positional argument follows a keyword argument",
                             at)
            else:
                args.append((self.value(), at))
        self.take(")")
        return self.build(name, args, kwargs, pos)

    def value(self) -> Any:
        kind, value, pos = self.take()
        if value == "-":
            inner = self.value()
            return ("-" + inner) if isinstance(inner, str) else inner
        if value == "[":
            items = []
            while self.peek()[1] != "]":
                if items:
                    self.take(",")
                items.append(self.value())
            self.take("]")
            return items
        if kind == "str":
            return value[1:-1]
        if kind == "word":
            return value
        found = repr(value) if kind != "end" else "the end"
        raise _error(self.text, f"expected an argument, found {found}", pos)

    def build(self, name: str, args: list, kwargs: dict, pos: int) -> Term:
        fn = OBJECTIVES[name]
        params = list(inspect.signature(fn.__wrapped__).parameters.values())
        usage = f"{name}({', '.join(p.name for p in params)})"
        if len(args) > len(params):
            raise _error(self.text, f"{usage} takes at most {len(params)} arguments, got "
                         f"{len(args)}", pos)
        conv_args, conv_kwargs = [], {}
        for (raw, at), param in zip(args, params):
            conv_args.append(self.convert(raw, param, name, at))
        by_name = {p.name: p for p in params}
        for key, (raw, at) in kwargs.items():
            if key not in by_name:
                raise _error(self.text, f"{usage} has no argument {key!r}", at)
            conv_kwargs[key] = self.convert(raw, by_name[key], name, at)
        missing = [p.name for p in params[len(args):] if p.name not in kwargs
                   and p.default is inspect.Parameter.empty]
        if missing:
            raise _error(self.text, f"{usage} needs {', '.join(missing)}", pos)
        return fn(*conv_args, **conv_kwargs)

    def convert(self, raw: Any, param: inspect.Parameter, name: str, at: int) -> Any:
        kind = annotation_kind(param.annotation)
        what = f"argument {param.name!r} of {name}"
        try:
            if kind.startswith("list["):
                if not isinstance(raw, list):
                    raise ValueError
                item = int if kind == "list[int]" else float
                values = [item(v) for v in raw]
            elif isinstance(raw, list):
                raise ValueError
            elif kind == "int":
                return int(raw)
            elif kind == "float":
                values = [float(raw)]
            else:
                return str(raw)
        except (TypeError, ValueError):
            expect = {"int": "an integer", "float": "a number"}.get(kind, f"a {kind}")
            raise _error(self.text, f"{what} must be {expect}, got {_show(raw)}", at) from None
        if not all(math.isfinite(v) for v in values):  # nan, inf, 1e999
            raise _error(self.text, f"{what} must be finite, got {_show(raw)}", at)
        return values if kind.startswith("list[") else values[0]


def annotation_kind(annotation: Any) -> str:
    """An argument's annotation as the grammar's type name, whether the function's module
    keeps annotations as text (``from __future__ import annotations``) or as the types
    themselves (a notebook cell): ``int``, ``float``, ``str``, ``list[int]``, ...

    >>> [annotation_kind(a) for a in (int, "int", list[float], "list[float]", str)]
    ['int', 'int', 'list[float]', 'list[float]', 'str']
    """
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    text = text.replace(" ", "").replace("typing.", "")
    return "list" + text[4:] if text.startswith("List[") else text


def _show(raw: Any) -> str:
    return "[" + ", ".join(map(str, raw)) + "]" if isinstance(raw, list) else repr(raw)


def parse_objective(text: str) -> Term:
    """The :class:`Term` an ``--objective`` string describes; VizError if it is invalid."""
    if not isinstance(text, str) or not text.strip():
        raise VizError("objective is empty", field="objective")
    if len(text) > 2000:
        raise VizError("objective is longer than 2000 characters", field="objective")
    parser = _Parser(text)
    result = parser.expr()
    kind, value, pos = parser.peek()
    if kind != "end":
        raise _error(text, f"unexpected {value!r}", pos)
    if not isinstance(result, Term):
        raise _error(text, "a number alone is no objective; name a term such as "
                     "channel(layer, 0)")
    if all(w == 0 for _, w in result.net_weights()):
        raise _error(text, "every term has weight 0 (repeated terms added up), so there is "
                     "nothing to optimise; give a term a non-zero weight")
    return result
