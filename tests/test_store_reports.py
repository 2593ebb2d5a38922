"""Reports of stored runs: the HTML is self-contained and says what it should; the PDF's
first page renders (pdftoppm) to a non-blank image with its title."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from viz_core.images import png_bytes
from viz_core.store import RunRecord, RunStore
from viz_core.store.figures import line_chart
from viz_core.store.report_html import html_report


def _runs(store: RunStore) -> list[RunRecord]:
    rng = np.random.default_rng(0)
    ids = []
    for i, tau in enumerate((2.0, 8.0)):
        cfg = {"model": "fmnist_vgg", "task": "am", "target": 3, "step_size": tau,
               "steps": 20, "fluid": {"kind": "gaussian", "param": 1.0 + i, "size": 11,
                                      "order": 1, "f0": 1.0}, "elastic": None}
        ids.append(store.add(RunRecord(
            config=cfg, model="fmnist_vgg", task="am", scheme="fluid demons",
            model_label="fmnist_vgg (Fashion-MNIST weights)",
            metrics={"objective": -3.0 * (i + 1), "judge_target_prob": 0.4 + 0.2 * i},
            floors={"judge_target_prob": 0.1},
            curves={"step": [0, 10, 20], "objective": [0.0, -1.0, -3.0 * (i + 1)]},
            verdicts=[{"role": "judge", "model": "fmnist_resnet",
                       "top": [["Dress", 0.4 + 0.2 * i], ["Shirt", 0.1]],
                       "target": "Dress", "target_prob": 0.4 + 0.2 * i}],
            image=png_bytes(rng.random((1, 28, 28), dtype=np.float32)),
            frames=[(10, png_bytes(rng.random((1, 28, 28), dtype=np.float32)))],
            command=f"demons-viz visualize --step-size {tau:g}", tags=["t"])))
    return [store.get(i) for i in ids]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.diff_rows = 0
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "tr" and a.get("class") == "diff":
            self.diff_rows += 1
        if tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src"))


def test_html_comparison_is_self_contained_and_complete(tmp_path):
    runs = _runs(RunStore(tmp_path / "r.sqlite"))
    html = html_report(runs)
    p = _Collect()
    p.feed(html)
    assert not p.links  # no stylesheet or script from elsewhere
    # 2 pre-images + 2 frames + 2 fluid kernels + the objective chart
    assert len(p.imgs) == 7
    for src in p.imgs:
        assert src.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).load()
    assert "demons-viz comparison of 2 runs" in html
    # the settings that differ: step size and the fluid kernel's sigma, nothing else
    assert p.diff_rows == 2
    assert re.search(r'<tr class="diff"><td>step_size</td><td>2</td><td>8</td>', html)
    assert re.search(r'<tr class="diff"><td>fluid.param</td><td>1</td><td>2</td>', html)
    # metrics with their floor, the judges, and the commands
    assert re.search(r"<td>independent judge: target probability</td><td>0.4</td><td>0.6</td>"
                     r"<td>0.1</td>", html)
    assert "judge fmnist_resnet: top Dress 40%, Shirt 10%; target Dress: 40%" in html
    assert f"demons-viz history export {runs[0].id} --format json" in html
    assert "demons-viz visualize --step-size 8" in html


def test_chart_draws_every_series():
    png = line_chart([("a", [0, 1, 2], [0.0, 1.0, 2.0]), ("b", [0, 1, 2], [2.0, None, 0.0])],
                     "t")
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    blue = (abs(a - [0x00, 0x72, 0xB2]).sum(-1) < 30).sum()
    orange = (abs(a - [0xD5, 0x5E, 0x00]).sum(-1) < 30).sum()
    assert blue > 100 and orange > 20  # the second line has a gap: only the legend and dots


def _render(pdf: bytes, tmp_path, name: str) -> np.ndarray:
    src = tmp_path / f"{name}.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-gray", "-f", "1", "-l", "1", str(src),
                    str(tmp_path / name)], check=True, timeout=120)
    out = next(tmp_path.glob(f"{name}*.png"))
    return np.asarray(Image.open(out).convert("L")).astype(np.float64)


def _first_line(page: np.ndarray) -> np.ndarray:
    """The rows of the first line of ink on a page (grey levels)."""
    rows = (page < 128).any(1)
    start = int(np.argmax(rows))
    end = start + int(np.argmin(rows[start:]))
    return page[start:end]


@pytest.mark.skipif(shutil.which("pdftoppm") is None,
                    reason="pdftoppm (Debian poppler-utils) is not installed")
def test_pdf_first_page_renders_with_its_title(tmp_path):
    pytest.importorskip("reportlab")
    from viz_core.store.report_pdf import pdf_report

    runs = _runs(RunStore(tmp_path / "r.sqlite"))
    page = _render(pdf_report(runs), tmp_path, "full")
    untitled = _render(pdf_report(runs, title=""), tmp_path, "untitled")
    assert (page < 128).mean() > 0.01 and page.std() > 20  # not blank
    # the title: the first line of ink, taller than the subtitle that comes first without
    # it, and centred on the page (the subtitle is left-aligned)
    first, first_untitled = _first_line(page), _first_line(untitled)
    assert first.shape[0] > 1.4 * first_untitled.shape[0]
    cols = np.nonzero((first < 128).any(0))[0]
    assert abs((cols.min() + cols.max()) / 2 - page.shape[1] / 2) < 0.05 * page.shape[1]
    cols_u = np.nonzero((first_untitled < 128).any(0))[0]
    assert cols_u.min() < cols.min() - 0.1 * page.shape[1]
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(tmp_path / "full.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert text.splitlines()[0].strip() == f"demons-viz comparison of {len(runs)} runs"
    # the pre-images are on the page: grey levels no text has
    mid = (page > 60) & (page < 200)
    assert mid.sum() > 5000


def test_the_shared_settings_are_those_every_run_has():
    """Settings that vary without changing what a run computes (frame cadence, name) are
    neither highlighted nor counted but listed once, folded, apart from those that define
    the runs; the dashboard's copy in extra.ui once, in its own folded section; the shared
    table holds only equal values (before, it showed the first run's value of 'every' as
    shared, and an empty 'extra' counted as a difference)."""
    base = {"model": "fmnist_vgg", "task": "am", "target": 3, "step_size": 2.0}
    runs = [RunRecord(config={**base, "every": 10, "name": "a", "extra": {}}, model="m",
                      task="am", scheme="plain", id="aaaaaaaaaaaa"),
            RunRecord(config={**base, "every": 40, "name": "b", "step_size": 5.0,
                              "extra": {"ui": {"steps": 40}}}, model="m", task="am",
                      scheme="plain", id="bbbbbbbbbbbb")]
    html = html_report(runs)
    shared = html.split("settings they share", 1)[1].split("</details>", 1)[0]
    assert "step_size" not in shared and "every" not in shared and "extra" not in shared
    assert ">target<" in shared
    assert "1 setting(s) differ (highlighted)." in html
    assert re.search(r'<tr class="diff"><td>step_size</td>', html)
    assert len(re.findall(r"<td>every</td>", html)) == 1
    other = html.split("other stored settings", 1)[1].split("</details>", 1)[0]
    assert re.search(r"<tr><td>every</td><td>10</td><td>40</td>", other)
    ui = html.split("the dashboard's copy of the settings", 1)[1].split("</details>", 1)[0]
    assert re.search(r"<tr><td>steps</td><td>-</td><td>40</td>", ui)
    assert "extra.ui" not in html
