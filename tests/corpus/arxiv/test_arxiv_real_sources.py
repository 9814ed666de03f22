"""Every real source in ../shared/data/arxiv-src: papers/ against sentinels.json, good/ and bad/
against the "yields a document?" column of its PROVENANCE.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sciloom.corpus.arxiv.archive import FailedSubmission, iter_submissions
from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.arxiv.extractor import Extraction, extract_submission
from sciloom.corpus.errors import InputError
from sciloom.corpus.markup import END_REF, START_REF

CONFIG = ArxivConfig()


def extract_one(path: Path) -> Extraction | InputError:
    items = list(iter_submissions(str(path), CONFIG))
    assert len(items) == 1, f"{path.name}: {len(items)} submissions"
    item = items[0]
    if isinstance(item, FailedSubmission):
        return item.error
    try:
        return extract_submission(item, CONFIG)
    except InputError as err:
        return err


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def arxiv_src(shared_data: Path) -> Path:
    return shared_data / "arxiv-src"


@pytest.fixture(scope="module")
def sentinels(arxiv_src: Path) -> dict:
    return json.loads((arxiv_src / "papers" / "sentinels.json").read_text())


@pytest.fixture(scope="module")
def papers(arxiv_src: Path, sentinels: dict) -> dict[str, Extraction]:
    out = {}
    for name in sentinels:
        result = extract_one(arxiv_src / "papers" / name)
        assert isinstance(result, Extraction), f"{name}: {result}"
        out[name] = result
    return out


PAPERS = [
    "D-modules.tar.gz",
    "LearningEquationalTheories.tar.gz",
    "arxiv-latex-cleaner-tex.zip",
    "arxiv-latex-cleaner.tar.gz",
    "bianchi_splitting.tar.gz",
    "edo-paper-flattened.tex",
    "edo-paper.tar.gz",
    "robust-sls.tar.gz",
]


@pytest.mark.parametrize("name", PAPERS)
def test_paper_passes_every_sentinel(name: str, papers: dict, sentinels: dict) -> None:
    spec, result = sentinels[name], papers[name]
    text = squash(result.text)
    assert result.provenance["main_file"].endswith(spec["main"])
    for sentence in spec["included_sentinels"] + spec["main_sentinels"]:
        assert squash(sentence) in text, f"missing: {sentence!r}"
    for sentence in spec["absent_sentinels"]:
        assert squash(sentence) not in text, f"commented-out text kept: {sentence!r}"
    for macro in spec["included_macro_names"]:
        assert not re.search(rf"\\{re.escape(macro)}(?![A-Za-z@])", result.text), f"\\{macro} survived"
    assert result.signals["unresolved_macros"] == 0
    assert result.signals["unresolved_includes"] == 0
    assert len(result.provenance["included_files"]) >= spec["inputs_resolved"] - 1  # .bbl counts as included
    for raw in ("\\cite", "\\input", "\\include{", "\\documentclass", "\\usepackage", "\\begin{document}"):
        assert raw not in result.text, f"raw {raw} in output"
    if spec["cites"]:
        assert result.text.count(START_REF) == result.text.count(END_REF) >= 1


def test_citations_carry_titles_from_the_bbl(papers: dict) -> None:
    text = papers["robust-sls.tar.gz"].text
    refs = re.findall(rf"{re.escape(START_REF)} (.*?){re.escape(END_REF)}", text)
    assert len(refs) >= 36
    assert any("System Level Synthesis" in r or "system level" in r.lower() for r in refs)


def test_citations_carry_titles_from_the_bib_when_there_is_no_bbl(papers: dict) -> None:
    signals = papers["LearningEquationalTheories.tar.gz"].signals
    assert signals["num_cites_resolved"] == signals["num_cites"] >= 15
    assert (
        "[START_REF] Term rewriting and all that, Baader[END_REF]"
        in papers["LearningEquationalTheories.tar.gz"].text
    )


def test_macros_through_includes_and_standalone_diagrams(papers: dict) -> None:
    prov = papers["edo-paper.tar.gz"].provenance
    assert prov["main_file"] == "main.tex"
    assert sum(p.startswith("tex/diagrams/") for p in prov["included_files"]) == 6
    assert len(prov["included_files"]) >= 25


GOOD = [
    "pascal_petit.tex",
    "polch.tex",
    "source_with_dir.tar.gz",
    "upload2.tar.gz",
    "upload3.tar.gz",
    "upload4.gz",
    "upload6.tgz",
]


@pytest.mark.parametrize("name", GOOD)
def test_good_submission_yields_a_clean_document(name: str, arxiv_src: Path) -> None:
    result = extract_one(arxiv_src / "good" / name)
    assert isinstance(result, Extraction), result
    assert result.signals["length_chars"] > 10_000
    assert result.signals["unresolved_macros"] == 0
    assert "\\cite" not in result.text and "\\documentclass" not in result.text


# PROVENANCE.md "yields a document?": a reason for "no", the main file for "yes".
BAD = {
    "relative_path.tar.gz": "unsafe_path",
    "UploadTestWindowCDrive.tar.gz": "no_tex_source",
    "mutau2-sub_first10kB.tar": "truncated_archive",
    "10240_null_chars.tar": "empty_archive",
    "upload1.tar.gz": "empty_archive",
    "UnpackWithSubdirectories.tar.gz": "no_tex_source",
    "FilesToWarnAbout.tar": "no_tex_source",
    "2260340.tar.gz": "pdfpages_wrapper",
    "2229143.tar.gz": "pdfpages_wrapper",
    "upload5.tar.gz": "no_tex_source",
    "upload7.tar.gz": "no_tex_source",
    "holtxdoc.zip": "no_tex_source",
    "gzipped.gz": "no_tex_source",
    "compressed.Z": "unsupported_compression",
    "upload-nested-zip-and-tar.zip": "QuantumBJJWithTwoSpecies_10.tex",
    "sampleA_ps.tar.gz": "GPD-PRDfr.tex",
    "sampleB_ps.tar.gz": "CopyofSelfDopingGrapheneRevised.tex",
    "paper-t4.1_Vienna_preprint.tex": "paper-t4.1_Vienna_preprint.tex",
    "minMac.tex": "minMac.tex",
    "1801.03879-1.tar.gz": "defective-fpt.tex",
    "with__MACOSX_hidden.tar.gz": "with__MACOSX_hidden/For-arXive/pol_leps.tex",
    "with__processed_directory.tar.gz": "with__processed_directory/For-arXive/pol_leps.tex",
    "Upload9BadFileNames.tar.gz": "ExcUpdateIntervals2ArXiv.tex",
    "UploadNoNewlineTerm.tar.gz": "NoNewlineTermination.tex",
    "UploadRemoveFiles.tar": "final.tex",
    "bad_bib_but_no_bbl.tar": "final.tex",
}


def test_every_bad_file_is_listed(arxiv_src: Path) -> None:
    assert sorted(p.name for p in (arxiv_src / "bad").iterdir()) == sorted(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_is_handled_as_provenance_says(name: str, arxiv_src: Path) -> None:
    result = extract_one(arxiv_src / "bad" / name)
    expected = BAD[name]
    if expected.endswith(".tex"):
        assert isinstance(result, Extraction), f"{name}: {result}"
        assert result.provenance["main_file"] == expected
        assert "\ufffd" not in result.text
    else:
        assert isinstance(result, InputError), f"{name} yielded a document"
        assert result.reason == expected, f"{name}: {result}"


def test_legacy_encodings_are_detected_and_recorded(arxiv_src: Path) -> None:
    vienna = extract_one(arxiv_src / "bad" / "paper-t4.1_Vienna_preprint.tex")
    assert vienna.provenance["encoding"] == "cp1252"
    assert "Premier\u2019s" in vienna.text
    graphene = extract_one(arxiv_src / "bad" / "sampleB_ps.tar.gz")
    assert "\u00d6zyilmaz" in graphene.text
    assert extract_one(arxiv_src / "bad" / "sampleA_ps.tar.gz").provenance["encoding"] == "cp1251"


def test_arxiv_id_comes_from_the_file_name_or_the_gzip_header(arxiv_src: Path) -> None:
    assert extract_one(arxiv_src / "good" / "upload2.tar.gz").provenance["arxiv_id"] == "0903.0180"
    assert extract_one(arxiv_src / "bad" / "1801.03879-1.tar.gz").provenance["arxiv_id"] == "1801.03879"
