"""A network and classes with Markdown in their names (a team's demons-viz.toml: any name,
any class file) and an uploaded image with Markdown in its file name show as text in the
Playground's metrics table (one table, two columns), a Compare caption and the "from
previous settings" note (AppTest; Chromium: ``tests/e2e/test_name_injection_browser.py``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dashboard.navigation import page_path
from tests.test_text_names import EVIL, _live, _shown

PG, CMP = page_path("playground"), page_path("compare")


def team_toml(folder: Path) -> Path:
    """A demons-viz.toml naming a small network and its five classes with Markdown, HTML
    and a table's pipe (every class: what the network sees is one of them)."""
    (folder / "classes.txt").write_text("".join(f"{EVIL} {i}\n" for i in range(5)),
                                        encoding="utf-8")
    toml = folder / "demons-viz.toml"
    toml.write_text(f'[[model]]\nname = {json.dumps(EVIL)}\nsource = "tests.own_nets:branchy"'
                    '\ninput_size = 32\nchannels = 1\nclasses_file = "classes.txt"\n',
                    encoding="utf-8")
    return toml


@pytest.fixture
def team(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DEMONS_VIZ_MODELS", str(team_toml(tmp_path)))


def test_the_metrics_table_shows_the_names_as_text(dash, team):
    at = dash.open(PG, model=EVIL, steps=2, every=2, target=1)
    dash.no_exception(at)
    assert at.session_state["pg_model"] == EVIL
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    table = next(m.value for m in at.markdown if m.value.startswith("| quantity"))
    rows = table.splitlines()
    # one table, two columns: a pipe in a name does not split a row
    assert all(len(re.findall(r"(?<!\\)\|", r)) == 3 for r in rows), table
    cells = [c.strip() for r in rows[2:] for c in re.split(r"(?<!\\)\|", r)[1:-1]]
    assert not [c for c in cells if _live(c)], [(c, _live(c)) for c in cells if _live(c)]
    shown = _shown(table)
    assert f"class probability ({EVIL})" in shown and f"{EVIL} 1" in shown
    # the header line names the network as text too
    head = next(m.value for m in at.markdown if "Kf=" in m.value)
    # (a note on the network's mode may follow its name: tests.own_nets builds it in train mode)
    assert _shown(head).split(" · ", 1)[1].startswith(EVIL) and not _live(head.split(" · ", 1)[1])


def test_a_compare_caption_shows_the_class_names_as_text(dash, team):
    at = dash.open(CMP, model=EVIL, task="inversion", cells="tv", steps=2, every=2)
    dash.no_exception(at)
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    caps = [c for i in at.main.image for c in i.captions if "TV" in c]
    assert len(caps) == 1, [c for i in at.main.image for c in i.captions]
    assert EVIL in _shown(caps[0]) and not _live(caps[0]), (caps[0], _live(caps[0]))


def test_the_stale_note_shows_an_uploaded_file_name_as_text(dash):
    from viz_core.images import png_bytes

    rng = np.random.default_rng(0)
    at = dash.open(PG, task="inversion", image="upload", steps=2, every=2)
    at.file_uploader(key="pg_upload").upload(f"{EVIL}.png", png_bytes(
        rng.random((1, 40, 40), dtype=np.float32)), "image/png").run()
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    at.file_uploader(key="pg_upload").upload("other.png", png_bytes(
        rng.random((1, 40, 40), dtype=np.float32)), "image/png").run()
    dash.no_exception(at)
    notes = [i.value for i in at.info if "previous settings" in i.value]
    assert len(notes) == 1, [i.value for i in at.info]
    assert f"uploaded image {EVIL}.png (" in _shown(notes[0]) and not _live(notes[0]), notes
