"""A team's own models, listed once in a ``demons-viz.toml`` (the file named by
``$DEMONS_VIZ_MODELS``, else ``./demons-viz.toml``) and then named like zoo models in the
CLI, ``RunConfig`` and the dashboard's model box::

    [[model]]
    name = "fmnist_mlp"                   # how runs name it
    source = "mypkg.nets:make_mlp"        # an import string (its package is also looked
    input_size = 64                       # for beside the toml file), a .pt2 file (relative
                                          # to the toml file), or timm:NAME
    channels = 1
    mean = [0.2862]
    std = [0.3387]
    classes = ["T-shirt", "Trouser"]      # or classes_file = "classes.txt"
    weights = "mlp_state.pt"              # optional: a state_dict for the source's network
                                          # (relative to the toml file), its "pretrained"
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from viz_core.errors import VizError
from viz_core.zoo import available_models

__all__ = ["TEAM_ENV", "TeamModel", "team_file", "team_models", "team_models_or_error"]

TEAM_ENV = "DEMONS_VIZ_MODELS"


@dataclass(frozen=True)
class TeamModel:
    """One entry of ``demons-viz.toml``: a name, its source and its input contract."""

    name: str
    source: str
    input_size: int | None = None
    channels: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    classes: tuple[str, ...] | None = None
    description: str = ""
    folder: str = ""  # the toml file's folder: where an import string's package may lie
    weights: str | None = None  # a state_dict file: the network's own ("pretrained") weights

    def importable(self) -> None:
        """Let Python find an import-string source's package beside the toml file: its
        folder joins the end of ``sys.path`` (PYTHONPATH and installed packages come
        first), so a team's module needs no PYTHONPATH of its own."""
        import sys

        from viz_core.models.file_source import IMPORT_STRING

        if self.folder and IMPORT_STRING.match(self.source) and self.folder not in sys.path:
            sys.path.append(self.folder)

    def contract(self) -> dict:
        """Keyword arguments of :func:`viz_core.models.open_model`."""
        return {"input_size": self.input_size, "channels": self.channels, "mean": self.mean,
                "std": self.std, "classes": list(self.classes) if self.classes else None}


def team_file() -> Path | None:
    """The team's model list in use, or None."""
    env = os.environ.get(TEAM_ENV)
    p = Path(env) if env else Path("demons-viz.toml")
    if env and not p.is_file():
        raise VizError(f"${TEAM_ENV} names {p}, which does not exist", field="model")
    return p if p.is_file() else None


def _load_toml(p: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise VizError("reading demons-viz.toml on Python 3.10 needs `pip install tomli`",
                           field="model") from None
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise VizError(f"{p} is not valid TOML: {exc}", field="model") from None


def team_models() -> dict[str, TeamModel]:
    """Name -> entry of the team's model list (empty without one); VizError on a bad file."""
    p = team_file()
    if p is None:
        return {}
    out: dict[str, TeamModel] = {}
    entries = _load_toml(p).get("model", [])
    if not isinstance(entries, list):
        raise VizError(f"{p}: expected [[model]] tables", field="model")
    zoo_names = {s.name for s in available_models()}
    for i, e in enumerate(entries):
        where = f"{p}, model {i + 1}"
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) \
                or not isinstance(e.get("source"), str):
            raise VizError(f"{where}: needs a name and a source", field="model")
        if e["name"] in zoo_names:  # a team entry must not change what a zoo name runs
            raise VizError(f"{where}: {e['name']!r} is a zoo model; give the team's model "
                           "another name", field="model")
        if e["name"] in out:
            raise VizError(f"{where}: {e['name']!r} is listed twice", field="model")
        unknown = set(e) - {"name", "source", "input_size", "channels", "mean", "std",
                            "classes", "classes_file", "description", "weights"}
        if unknown:
            raise VizError(f"{where}: unknown key {sorted(unknown)[0]!r}", field="model")
        source = e["source"]
        if source.endswith((".pt2", ".pt")) and not Path(source).is_absolute():
            source = str((p.parent / source).resolve())
        weights = e.get("weights")
        if weights is not None:
            if not isinstance(weights, str) or not weights:
                raise VizError(f"{where}: weights must be the path of a state_dict file",
                               field="model")
            weights = str(weights if Path(weights).is_absolute()
                          else (p.parent / weights).resolve())
        classes = e.get("classes")
        if "classes_file" in e:
            from viz_core.models.file_source import read_class_names

            cf = p.parent / e["classes_file"]
            try:
                classes = read_class_names(cf, f"{where}: classes_file {cf}")
            except VizError as exc:
                raise VizError(str(exc), field="model") from None
        try:
            out[e["name"]] = TeamModel(
                e["name"], source, e.get("input_size"), e.get("channels"),
                tuple(float(v) for v in e["mean"]) if "mean" in e else None,
                tuple(float(v) for v in e["std"]) if "std" in e else None,
                tuple(str(c) for c in classes) if classes else None,
                str(e.get("description", "")), str(p.parent.resolve()), weights)
        except (TypeError, ValueError):
            raise VizError(f"{where}: mean and std must be lists of numbers",
                           field="model") from None
    return out


def team_models_or_error() -> tuple[dict[str, TeamModel], VizError | None]:
    """:func:`team_models`, or no entries and the reason when the list cannot be read: a
    broken list then blocks its own names only (the caller says why where one is asked
    for), never a zoo model, a network file, an import string or a timm model."""
    try:
        return team_models(), None
    except VizError as exc:
        return {}, exc
