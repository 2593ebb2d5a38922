"""The Paper presets page without its layout: the page's sentences, where each picture of a
batch goes (Fig. 1's rows, an inversion's reference first), the progress of a run of
batches, the job that loads a batch's model and its judges (Table 1's other network,
Sec. 3.2), the link to Playground or Compare, the weights each preset needs, the batch of
the presets tuned for the offline models (one setting of eq. 18 per scheme) and the
reading of the Table 1 results files (Sec. 3.2). Nothing here draws; the page lays out.

Models are looked up through :mod:`dashboard.resources` at call time (``resources.available``,
``resources.get_model``), so that what a test puts there is what the page sees; that module
(Streamlit's caches) is imported there too, so this one imports without Streamlit."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboard import table1_view
from dashboard.jobs import Job
from dashboard.navigation import page_path
from dashboard.plots import table1_figure
from dashboard.preset_view import FINDINGS
from dashboard.runs import Classifier, RunRecord
from dashboard.settings.compare import compare_defaults, compare_settings
from dashboard.settings.labels import TASK_LABELS
from dashboard.settings.playground import config_to_settings, playground_defaults
from dashboard.text import plain
from dashboard.urlstate import encode
from viz_core import offline_presets, presets
from viz_core.datasets import FMNIST_CLASSES
from viz_core.errors import VizError
from viz_core.presets import Batch, Preset, paper_table1_text

if TYPE_CHECKING:
    import pandas as pd

    from viz_core.config import RunConfig

__all__ = ["ALL_COLUMNS_HELP", "COLS", "INTRO", "MONTAGE_CAPTION", "NEEDS_WEIGHTS",
           "NO_TABLE1", "TUNED_INTRO", "VARIANTS", "elapsed", "findings",
           "grid_layout", "has_classifier", "job", "json_settings", "mark_shown",
           "missing_images", "missing_images_warning", "montage", "no_chart", "open_target",
           "paper_version_caption", "progress", "read_tables", "results_dir", "shown_table",
           "start_clock", "stopped_caption", "stopped_cells", "table1_captions",
           "table1_chart", "table1_files", "table1_line", "tuned_batch", "variant_batches",
           "weights_notice"]

COLS = 4  # pictures per row of a batch that is not in a paper figure's rows
NEEDS_WEIGHTS = "needs the ImageNet weights"
#: The variant of a preset that each Run button runs (its key: the button's name).
VARIANTS = {"off": "offline", "pap": "paper"}
#: The page's first paragraph: every preset is a setting of the one demons update (eq. 18).
INTRO = ("One click reproduces an experiment of Baust et al. (arXiv:1805.00071) with "
         "its parameters, or a classic feature-visualization recipe written as a "
         "setting of the one demons update u ← Ke * (u − τ Kf * ∇D(u)). Where the "
         "ImageNet weights are not on this machine, each preset has an offline "
         "version on the shipped Fashion-MNIST models.")
TUNED_INTRO = ("Settings tuned for the two shipped Fashion-MNIST models, one per scheme, "
               "checked by `scripts/check_offline_presets.py` (every class reaches a "
               "probability >= 0.9 under every scheme; an inversion from the preset's "
               "middle block, block2 / layer2, reaches a normalised loss < 0.1 with the "
               "best scheme on every image of fmnist_vgg). All nine schemes run as one "
               "batch.")
NO_TABLE1 = ("No results/table1*.csv yet: run the Table 1 evaluation command to fill "
             "this table (the offline pair runs on a CPU).")
ALL_COLUMNS_HELP = ("the file's every column; by default the accuracies and the "
                    "image metrics")
MONTAGE_CAPTION = ("the first images of each direction: the originals, then each method's "
                   "reconstructions, classified by the other network")
_T1_COLUMNS = {"direction", "method", "label", "top1", "top5"}


def results_dir() -> Path:
    """Where the Table 1 results files are (``DEMONS_VIZ_RESULTS``, read at each call;
    by default the repository's ``results/``)."""
    default = Path(__file__).resolve().parents[1] / "results"
    return Path(os.environ.get("DEMONS_VIZ_RESULTS", default))


def open_target(preset: Preset, batch: Batch) -> tuple[str, dict[str, str]]:
    """The page and the query parameters that open ``batch`` there: its first
    configuration in the Playground, or every cell of it in Compare."""
    if preset.page == "playground":
        s, _ = config_to_settings(batch.configs[0])
        return page_path("playground"), encode(s, playground_defaults())
    s, _ = compare_settings(batch.configs)
    return page_path("compare"), encode(s, compare_defaults())


def grid_layout(batch: Batch, cols: int = COLS
                ) -> tuple[str | None, list[RunConfig | None], list[tuple[str, int]]]:
    """``(reference, cells, rows)`` of a batch's grid: the reference image of an inversion
    (eq. 3) when it is on this machine, else None; the cells, None first for that
    reference, then the configurations; the rows as (title, number of cells): those of the
    paper's figure where the batch has them (Fig. 1, Sec. 3.1: one row per kernel, then
    the baselines), else untitled rows of ``cols``."""
    c0 = batch.configs[0]
    ref = c0.image if c0.task == "inversion" and presets.image_exists(c0.image) else None
    cells: list[RunConfig | None] = [None] * bool(ref) + list(batch.configs)
    rows = list(batch.rows)
    sizes = [n for _, n in rows]
    if ref or not rows or sum(sizes) != len(cells) or max(sizes) > cols:
        rows = [("", cols)] * -(-len(cells) // cols)
    return ref, cells, rows


def has_classifier(rec: RunRecord) -> bool:
    """Whether a verdict comes from the paper's classifier of the batch (Table 1's other
    network, Sec. 3.2): then the table of verdicts opens by itself."""
    return any(v.data.get("role") == "classifier" for vs in rec.verdicts for v in vs)


def progress(i: int, n: int, rec: RunRecord, title: str) -> tuple[float, str]:
    """The progress bar's value and words while batch ``i`` of ``n`` runs."""
    done = (i + rec.step / max(rec.total, 1)) / n
    return min(done, 1.0), (f"batch {i + 1} of {n}: {title}, step {rec.step} of "
                            f"{rec.total}")


def start_clock() -> dict[str, float]:
    """The clock of a run that starts now: its start, and when a picture was last shown."""
    now = time.perf_counter()
    return {"start": now, "shown": now}


def mark_shown(clock: dict[str, float]) -> None:
    """Note on ``clock`` that a picture was shown now."""
    clock["shown"] = time.perf_counter()


def elapsed(clock: Mapping[str, float] | None, recs: Sequence[RunRecord]) -> float:
    """Seconds from the Run click to the last picture shown (the session's clock), or the
    records' own times where the session has no clock."""
    return clock["shown"] - clock["start"] if clock else sum(r.elapsed for r in recs)


def stopped_caption(name: str) -> str:
    """The caption of a picture whose batch a Stop kept from running."""
    return f"{name} - not run: the run was stopped before this batch"


def stopped_cells(recs: Sequence[RunRecord], batches: Sequence[Batch]
                  ) -> list[tuple[int, int, str]]:
    """``(batch, cell, caption)`` for each picture of the batches after the last record
    when a Stop ended the run (:func:`stopped_caption`); none when nothing was stopped."""
    if not any(r.status == "stopped" for r in recs):
        return []
    return [(i, j, stopped_caption(cfg.name)) for i in range(len(recs), len(batches))
            for j, cfg in enumerate(batches[i].configs)]


def job(batch: Batch) -> Job:
    """A batch whose model is loaded when it starts; the model and its independent judge
    (:func:`dashboard.resources.verdict_models`, as on Compare) then judge its pictures,
    and the paper's classifier of the batch (Table 1's other network, Sec. 3.2) where its
    weights are here."""
    from dashboard import resources

    c0 = batch.configs[0]

    def judges(model: Any) -> list:
        out = resources.verdict_models(model, model.spec.name)
        if batch.classifier and resources.available([batch.classifier]):
            try:
                out.append(Classifier(resources.get_model(batch.classifier)))
            except VizError:  # its weights went missing: the captions say nothing of it
                pass
        return out

    return Job(batch.title, list(batch.configs), load=lambda: resources.get_model(
        c0.model, "random" if c0.weights == "random" else "pretrained", c0.device),
        judges=judges)


def findings(key: str) -> str | None:
    """What the paper found beside what the offline run shows (Figs. 1, 2, 4; Sec. 4.1),
    as one Markdown paragraph; None for a preset without findings."""
    if key not in FINDINGS:
        return None
    found, here = FINDINGS[key]
    return f"**Paper:** {found}  \n**Here:** {here[0].upper()}{here[1:]}"


def variant_batches(p: Preset, variant: str) -> list[Batch]:
    """The batches of a preset's ``"offline"`` or ``"paper"`` version."""
    return p.offline if variant == "offline" else p.batches


def paper_version_caption(p: Preset) -> tuple[bool, str]:
    """Whether the paper version runs here (every model's weights on this machine) and
    the caption that says so, with each model's status and the offline models."""
    from dashboard import resources

    paper_ok = resources.available(p.models)
    status = ", ".join(f"{m}: {resources.model_status(m)}" for m in p.models)
    return paper_ok, (f"Paper version: {'runs here' if paper_ok else 'needs the weights'} "
                      f"({status}). Offline version: {', '.join(p.offline_models)}.")


def missing_images(p: Preset) -> list[str]:
    """The images a preset's batches (paper and offline) name that are not on this
    machine, sorted, each once."""
    return sorted({c.image for b in p.batches + p.offline for c in b.configs
                   if c.image and not presets.image_exists(c.image)})


def missing_images_warning(p: Preset) -> str | None:
    """The warning that names the preset's images missing on this machine, or None."""
    missing = missing_images(p)
    return "Sample image missing on this machine: " + ", ".join(missing) if missing else None


def weights_notice(items: Sequence[Preset]) -> str | None:
    """One calm notice for every preset of a tab whose paper version lacks weights, or
    None when every paper version runs here."""
    from dashboard import resources

    need = sorted({m for p in items for m in p.models if not resources.available([m])})
    if not need:
        return None
    return (f"The ImageNet weights of {', '.join(need)} are not on this machine, so the "
            "paper versions that use them are disabled. Every preset has an **offline "
            "version** with the same scheme settings on the shipped Fashion-MNIST "
            "models; it runs here.")


def tuned_batch(model: str, task: str, target: int | None = None,
                image: str | None = None) -> tuple[Batch, dict[str, Any]]:
    """The batch of the nine tuned schemes (eq. 18's settings for the offline models) of
    ``model``: activation maximization of class ``target`` (eq. 4) or the inversion of
    ``image`` from the preset's layer (a middle block, eq. 3); and the settings a shown run
    belongs to."""
    settings: dict[str, Any] = {"model": model, "task": TASK_LABELS[task]}
    if task == "am":
        if target is None:
            raise VizError("activation maximization needs a class", field="target")
        configs = offline_presets.offline_batch(model, task, [target])
        title = f"{model}: class {target} ({FMNIST_CLASSES[target]})"
        settings["target"] = f"{target} ({FMNIST_CLASSES[target]})"
    else:
        if image is None:
            raise VizError("an inversion needs an image", field="image")
        configs = offline_presets.offline_batch(model, task, image=image)
        title = f"{model}: inversion of {Path(image).name} from {configs[0].layer}"
        settings["image"] = image
    return Batch(title, configs), settings


def json_settings(csv: Path) -> dict:
    """The settings the evaluation recorded beside a Table 1 CSV (its .json), {} if none."""
    try:
        meta = json.loads(csv.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    got = meta.get("settings") if isinstance(meta, dict) else None
    return got if isinstance(got, dict) else {}


def table1_files(results: Path) -> list[Path]:
    """The Table 1 results files in ``results`` (table1*.csv, not the per-sample ones)."""
    files = sorted(results.glob("table1*.csv")) if results.is_dir() else []
    return [f for f in files if not f.stem.endswith("_samples")]


def read_tables(files: Sequence[Path]) -> tuple[dict[Path, pd.DataFrame], list[str]]:
    """Each file read as a table, and one message (user text made plain) per file that
    cannot be read; a malformed file is reported, never raised."""
    import pandas as pd

    frames: dict[Path, pd.DataFrame] = {}
    errors: list[str] = []
    for f in files:
        try:
            frames[f] = pd.read_csv(f)
        except Exception as exc:  # noqa: BLE001 - a malformed file is reported, not raised
            errors.append(plain(f"cannot read {f.name} as a table: {exc}"))
    return frames, errors


def table1_chart(name: str, df: pd.DataFrame) -> tuple[Any, str | None]:
    """The chart of a results table of the cross-network protocol (Table 1, Sec. 3.2),
    :func:`dashboard.plots.table1_figure`, or the warning (user text made plain) that says
    why there is none: accuracies that are not numbers, or values the figure cannot draw
    (the table still shows). (None, None) for a table of other columns."""
    import pandas as pd

    if not _T1_COLUMNS <= set(df.columns):
        return None, None
    bad = [c for c in ("top1", "top5") if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        return None, plain(f"no chart for {name}: its {' and '.join(bad)} column holds "
                           "values that are not numbers; the table is below")
    try:
        fig = table1_figure(df.to_dict("records"))
        fig.to_json()  # what the page sends: odd values fail here, not on the page
    except Exception as exc:  # noqa: BLE001 - odd values: the table still shows
        return None, no_chart(name, exc)
    return fig, None


def no_chart(name: str, exc: Exception) -> str:
    """The warning (user text made plain) that the chart of Table 1's results file
    ``name`` (Sec. 3.2) could not be built or drawn because of ``exc``; its table still
    shows below."""
    return plain(f"no chart for {name}: {exc}; the table is below")


def table1_captions(frames: Mapping[Path, pd.DataFrame]) -> tuple[str, dict[str, str]]:
    """The line of settings every results file shares and each file's own caption
    (:func:`dashboard.table1_view.table1_captions`), from its rows and its .json."""
    return table1_view.table1_captions(
        {f.name: table1_view.table1_settings(df.to_dict("records"), json_settings(f))
         for f, df in frames.items()})


def shown_table(df: pd.DataFrame, every: bool) -> pd.DataFrame:
    """The columns of a results table that are shown (every one, or the accuracies and the
    image metrics), under their labels (:func:`dashboard.table1_view.table1_columns`)."""
    cols = table1_view.table1_columns(df.to_dict("records"), list(df.columns), every)
    return df[list(cols)].rename(columns=cols)


def montage(csv: Path, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, str | None]:
    """The example montage beside a results file (its ``_examples.png``), relabelled with
    the other network's verdicts where its layout is the protocol's (as drawn otherwise),
    and the warning (user text made plain) when it cannot be read; (None, None) when the
    file has no montage."""
    examples = csv.with_name(f"{csv.stem}_examples.png")
    if not examples.is_file():
        return None, None
    image = table1_view.relabel_montage(examples, rows)
    if image is None:  # labels as drawn: a montage of another layout
        image = table1_view.read_image(examples)
    if image is None:
        return None, plain(f"cannot read {examples.name} as an image")
    return image, None


def table1_line() -> str:
    """The paper's Table 1 (Sec. 3.2) in one sentence, with chance."""
    return ("Table 1 of the paper (top-1 / top-5 %, 1000 ImageNet images; chance "
            f"0.1 / 0.5 % among 1000 classes): {paper_table1_text()}.")
