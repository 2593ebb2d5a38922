"""What a preset is: a :class:`Preset` (the paper's version of an experiment and its offline
counterpart) made of :class:`Batch` es (configurations that run as one pass of the engine),
and the two configurations every recipe starts from, activation maximization (eq. 4) and
feature inversion (eq. 3). Used by :mod:`viz_core.presets` (the paper's Figs. 1, 2, 4 and
Table 1, Sec. 3) and :mod:`viz_core.classic_recipes` (earlier methods read as demons schemes,
Sec. 2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from viz_core.config import RunConfig

__all__ = ["KING_CRAB", "OFFLINE_AM_CLASS", "Batch", "Preset", "am_config", "inversion_config"]

KING_CRAB = 121          # ImageNet "king crab", the paper's Fig. 1 class
OFFLINE_AM_CLASS = 9     # Fashion-MNIST "Ankle boot": plenty of structure at 64x64


@dataclass
class Batch:
    """Configurations run together (one engine batch), with a title for the grid; the
    network that classifies its pictures in the paper's own test (Table 1, Sec. 3.2: the
    other one of the pair) and the figure's rows, (title, cells) each, where it has them."""

    title: str
    configs: list[RunConfig]
    classifier: str | None = None
    rows: tuple[tuple[str, int], ...] = ()


@dataclass
class Preset:
    """A reproducible experiment: the paper's version and its offline counterpart."""

    key: str
    title: str
    group: str                 # "paper" | "classic"
    source: str                # where the settings come from
    setting: str               # the (Kf, Ke, tau, TV) reading of the one demons update
    description: str
    batches: list[Batch]
    offline: list[Batch]
    notes: list[str] = field(default_factory=list)
    page: str = "compare"      # where "open" sends it: "compare" grid or "playground"

    @property
    def models(self) -> list[str]:
        """Models the paper version needs (in order, without repeats)."""
        return list(dict.fromkeys(c.model for b in self.batches for c in b.configs))

    @property
    def offline_models(self) -> list[str]:
        """Models the offline version needs (in order, without repeats)."""
        return list(dict.fromkeys(c.model for b in self.offline for c in b.configs))


def am_config(model: str, target: int | None = None, layer: str | None = None,
        channel: int | None = None, **kw) -> RunConfig:
    """An activation-maximization configuration (eq. 4): a class ``target`` or a
    ``layer`` ``channel``."""
    return RunConfig(model=model, task="am", target=target, layer=layer, channel=channel, **kw)


def inversion_config(model: str, layer: str | None, image: str, **kw) -> RunConfig:
    """A feature-inversion configuration (eq. 3) of ``image`` at ``layer``."""
    return RunConfig(model=model, task="inversion", layer=layer, image=image, **kw)
