"""The names the dashboard's downloads get (dashboard.file_names.file_stem): a model or class named
in any script keeps its name (QA: "Été 模型" became "ete", "模型" alone nothing), and every
name is safe to save on Linux, macOS and Windows. The browser side (Streamlit sends a
non-ASCII name as RFC 5987 ``filename*``, Chromium saves it as sent) is
tests/e2e/test_download_names_browser.py."""

from __future__ import annotations

import random
import unicodedata

from dashboard.file_names import MAX_STEM_BYTES, file_stem
from dashboard.runs import RunRecord
from viz_core.config import RunConfig

UNSAFE = set('/\\:*?"<>|')
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                    *(f"lpt{i}" for i in range(10))}


def _safe(stem: str) -> None:
    assert stem and not UNSAFE & set(stem), stem
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl",
                                               "Zp") for c in stem), ascii(stem)
    assert stem[0] not in ".-_ " and stem[-1] not in ". ", stem
    assert "." not in stem, stem  # an extension is the caller's, after the stem
    assert len(stem.encode()) <= MAX_STEM_BYTES and stem not in WINDOWS_RESERVED, stem
    assert stem == unicodedata.normalize("NFC", stem) and stem == stem.lower(), stem


def test_names_in_other_scripts_stay_in_the_file_name():
    assert file_stem(["fmnist_vgg", "模型", "fluid-sobolev"]) == "fmnist_vgg_模型_fluid-sobolev"
    assert file_stem(["Ёлка"]) == "ёлка"
    assert file_stem(["timm:convnext", "T-shirt/top", "Été 模型"]) == \
        "timm-convnext_t-shirt-top_ete-模型"
    assert file_stem(["Сеть", "Ёлка 3"]) == "сеть_ёлка-3"
    assert file_stem(["मॉडल"]) == "मॉडल"  # a vowel sign (a combining mark) stays
    # accents of Latin letters go, whether typed precomposed or combining
    assert file_stem(["Réseau"]) == file_stem(["Re\u0301seau"]) == "reseau"
    # compatibility forms: full-width letters, ligatures, superscripts (NFKC)
    assert file_stem(["ＶＧＧ１９", "ﬁne²"]) == "vgg19_fine2"


def test_a_run_record_names_its_downloads_after_a_non_ascii_model():
    cfg = RunConfig(model="/nets/模型 Été.pt2", task="am", target=3)
    rec = RunRecord(["plain"], [cfg.to_json()], "模型 Été.pt2", 10)
    assert rec.download_stem(0) == "模型-ete_class-3_plain"


def test_a_name_of_symbols_only_is_a_short_stable_hash_not_nothing():
    a, b = file_stem(["fmnist_vgg", "★"]), file_stem(["fmnist_vgg", "☆"])
    assert a.startswith("fmnist_vgg_x") and len(a) == len("fmnist_vgg_") + 7
    assert a != b and a == file_stem(["fmnist_vgg", "★"])
    assert file_stem(["", "  "]) == "demons-preimage"


def test_file_names_are_safe_on_every_os():
    nasty = ["../../etc/passwd", "..\\..\\boot.ini", 'a:b*c?d"e<f>g|h', ".hidden", "...",
             "tab\there\nnew\rline\x00nul\x1fus\x7fdel", "rtl\u202egnp.exe", "zero\u200bwidth",
             "CON", "aux", "LPT1", "com9", " spaced ", "trailing.", "-_-", "🚀 rocket"]
    for p in nasty:
        _safe(file_stem([p]))
        _safe(file_stem(["fmnist_vgg", p, "tv"]))
    assert file_stem(["CON"]) == "con_" and file_stem(["nul"]) == "nul_"
    rng = random.Random(0)  # random text over the whole of Unicode
    for _ in range(300):
        parts = ["".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000),
                                         rng.randrange(0x3000, 0x10FFFF)]))
                         for _ in range(rng.randrange(0, 60))) for _ in range(4)]
        _safe(file_stem(parts))


def test_long_names_keep_every_part_within_a_byte_limit():
    stem = file_stem(["模" * 80, "类" * 80, "fluid-elastic-sobolev", "sample 2"])
    assert stem.endswith("_fluid-elastic-sobolev_sample-2"), stem
    assert stem.startswith("模" * 16 + "_类"), stem
    assert len(stem.encode()) <= MAX_STEM_BYTES
    assert file_stem(["x" * 80]) == "x" * 40  # the limit in characters
    assert len(file_stem(["模" * 80])) == 40 and len(file_stem(["模" * 80]).encode()) == 120
