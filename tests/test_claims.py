"""scripts/check_claims.py: every number README.md quotes is recomputed from committed
files; the machinery catches a wrong number, an unsourced one and a vanished claim."""

from __future__ import annotations

import csv
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
lib = importlib.import_module("claims_lib")


def test_readme_numbers_match_their_sources():
    """The CI check itself: no mismatch, no number without a source, no lost claim."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_claims.py")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-1000:]
    assert "0 failure(s)" in out.stderr


@pytest.fixture()
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(lib, "ROOT", tmp_path)
    with (tmp_path / "r.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "top1"])
        w.writerows([["tv", "11.54"], ["fe", "49.7"]])
    (tmp_path / "r.md").write_text("| a | b |\n|---|---:|\n| x | 0.128 |\n\nfloor 9.91 dB\n")
    return tmp_path


def test_a_wrong_number_fails(results):
    claims = [lib.Claim("TV reaches {} %", [lib.csv_cell("r.csv", "top1", method="tv")])]
    ok, n = lib.check("TV reaches 11.5 %.", claims, [])
    assert ok == [] and n == 1
    bad, _ = lib.check("TV reaches 12.5 %.", claims, [])
    assert len(bad) == 1 and "README says 12.5" in bad[0] and "11.54" in bad[0]


def test_precision_and_bounds(results):
    assert lib.agrees("54.0", 54.04) and not lib.agrees("54.0", 54.06)
    assert lib.agrees("1,000", 1000.2) and lib.agrees("38", 37.6)
    claims = [lib.Claim("above {} %", [lib.at_least(lib.csv_cell("r.csv", "top1", method="fe"))])]
    assert lib.check("above 45 %", claims, [])[0] == []
    assert lib.check("above 50 %", claims, [])[0]          # 49.7 is not above 50


def test_unsourced_numbers_and_allow_list(results):
    text = "The floor is 9.91 dB (Sec. 3.2, eq. 18) and SSIM 0.128; `--steps 300`; block4."
    fails, _ = lib.check(text, [], [])
    assert {f.split("number ")[1].split()[0] for f in fails} == {"9.91", "3.2", "18", "0.128"}
    allowed = [(r"Sec\. \d+\.\d+|eq\. \d+", "citations")]
    claims = [lib.Claim("floor is {} dB", [lib.text_num("r.md", r"floor {} dB")]),
              lib.Claim("SSIM {}", [lib.md_cell("r.md", "b", a="x")])]
    assert lib.check(text, claims, allowed) == ([], 2)


def test_a_claim_whose_text_changed_fails(results):
    claims = [lib.Claim("floor is {} dB", [lib.text_num("r.md", r"floor {} dB")])]
    fails, _ = lib.check("The floor was 9.91 dB.", claims, [])
    assert any("claim not found" in f for f in fails)


def test_every_claim_has_one_source_per_number():
    with pytest.raises(ValueError, match="2 numbers but 1 sources"):
        lib.Claim("{} and {}", [lib.const(1, "x")])
