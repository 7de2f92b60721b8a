"""Loading .inp text: structure, bundled networks, hashing, errors naming line and section."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import pytest

from hydronet.water.errors import AnalysisInputError, InpError
from hydronet.water.hydraulics import hydraulic
from hydronet.water.loader import bundled_network_names, content_hash, decode_inp, load_bundled, parse_inp
from hydronet.water.summary import summary
from tests.support.networks import library_text
from tests.water.conftest import TINY_INP, fresh_model


def test_net3_structure_matches_the_epanet_example() -> None:
    """Net3 is the well-known EPANET example: 92 junctions, 3 tanks, 2 reservoirs, 117 pipes, 2 pumps, 168 h."""
    result = summary(parse_inp(load_bundled("Net3")))
    counts = result["counts"]
    assert [counts[k] for k in ("junctions", "tanks", "reservoirs", "pipes", "pumps")] == [92, 3, 2, 117, 2]
    assert result["time"]["duration_h"] == 168


@pytest.mark.parametrize("name", ["Net1", "Net3", "ky10"])
def test_summary_counts_and_lengths_match_wntr(name: str) -> None:
    """Counts, pipe length, duration and controls agree with the model WNTR reads itself."""
    wn = fresh_model(name)
    result = summary(parse_inp(library_text(name), name=name))
    described = wn.describe(level=1)
    assert result["name"] == name
    assert result["counts"]["junctions"] == described["Nodes"]["Junctions"]
    assert result["counts"]["pipes"] == described["Links"]["Pipes"]
    assert result["counts"]["controls"] == described["Controls"]
    assert result["total_pipe_length_m"] == pytest.approx(sum(p.length for _, p in wn.pipes()), rel=1e-6)
    assert result["time"]["duration_s"] == wn.options.time.duration
    assert result["units"]["source_flow_units"] == "GPM"
    assert result["demand"]["total_base_demand_m3_s"] == pytest.approx(
        sum(j.base_demand for _, j in wn.junctions()), rel=1e-6
    )
    box = result["bounding_box"]
    xs = [n.coordinates[0] for _, n in wn.nodes()]
    assert box["min_x"] == pytest.approx(min(xs)) and box["max_x"] == pytest.approx(max(xs))


def test_bundled_networks_are_listed_and_loaded_case_insensitively() -> None:
    """The WNTR example networks are offered by name."""
    names = bundled_network_names()
    assert {"Net1", "Net3", "ky10"} <= set(names)
    assert load_bundled("net1") == library_text("Net1")
    with pytest.raises(AnalysisInputError, match="unknown bundled network"):
        load_bundled("../../etc/passwd")


def test_content_hash_is_sha256_of_utf8() -> None:
    """Same content, same hash; bytes and str agree."""
    text = library_text("Net1")
    assert content_hash(text) == hashlib.sha256(text.encode()).hexdigest() == content_hash(text.encode())


def test_gb18030_upload_with_chinese_names_is_decoded() -> None:
    """Files saved by Chinese tools in GBK/GB18030 parse, keeping Chinese comments and titles."""
    text = TINY_INP.replace("Tiny network", "小型管网")
    wn = parse_inp(text.encode("gb18030"))
    assert wn.num_junctions == 3
    assert decode_inp("管网".encode()) == "管网"


@pytest.mark.parametrize(("options", "units"), [("", "GPM"), ("[OPTIONS]\n Units LPS\n", "LPS")])
def test_missing_units_default_to_gpm_like_epanet(options: str, units: str) -> None:
    """EPANET assumes GPM when [OPTIONS] has no Units line; WNTR alone would crash."""
    text = "[JUNCTIONS]\n J1 10 1\n[RESERVOIRS]\n R 50\n[PIPES]\n P1 R J1 100 200 100 0 Open\n" + options + "[END]\n"
    wn = parse_inp(text)
    assert str(wn.options.hydraulic.inpfile_units) == units
    assert wn.num_nodes == 2


def _broken(pattern: str, replacement: str) -> str:
    """Net1 with one line altered."""
    text = library_text("Net1")
    out = re.sub(pattern, replacement, text, count=1, flags=re.M)
    assert out != text
    return out


def _line_of(text: str, needle: str) -> int:
    """1-based line number of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("text", "needle", "section", "reason"),
    [
        (_broken(r"^\[TANKS\]", "[TANKZ]"), "[TANKZ]", "[TANKZ]", "unknown section"),
        (_broken(r"^ 10(\s+)710", r" 10\g<1>abc"), "abc", "[JUNCTIONS]", "invalid number 'abc'"),
        (
            _broken(r"^ 10(\s+)10(\s+)11(\s+)10530", r" 10\g<1>10\g<2>11\g<3>xyz"),
            "xyz",
            "[PIPES]",
            "invalid number 'xyz'",
        ),
        (_broken(r"^ 10(\s+)10(\s+)11", r" 10\g<1>10\g<2>999"), "999", "[PIPES]", "undefined node, '999'"),
        (_broken(r"^ 10(\s+)10(\s+)11(\s+)10530.*$", " 10 10 11"), " 10 10 11", "[PIPES]", "too few fields"),
        (_broken(r"^ Units.*$", " Units BOGUS"), "BOGUS", "[OPTIONS]", "BOGUS"),
        (_broken(r"^ LINK 9 OPEN IF NODE 2 BELOW", " LINK 9 OPEN IF NODE 77 BELOW"), "NODE 77", "[CONTROLS]", "'77'"),
        ("hello world\n", "hello", None, "syntax error"),
    ],
)
def test_malformed_inp_names_line_section_and_reason(text: str, needle: str, section: str | None, reason: str) -> None:
    """The error points the engineer to the offending line, its section and what is wrong."""
    with pytest.raises(InpError) as caught:
        parse_inp(text)
    error = caught.value
    assert error.line == _line_of(text, needle)
    assert error.section == section
    assert reason in error.message
    assert f"line {error.line}" in error.message
    assert error.to_dict() == {"message": error.message, "line": error.line, "section": section}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("   \n\n", "empty"),
        (b"\x00\x01\xff\xfePK\x03\x04 binary junk", "binary"),
        ("[TITLE]\nnothing here\n[END]\n", "no nodes"),
        ("[JUNCTIONS]\n J1 10 1\n J2 10 1\n[PIPES]\n P1 J1 J2 100 200 100 0 Open\n[END]\n", "no tank or reservoir"),
    ],
)
def test_empty_binary_and_sourceless_files_are_rejected(content: str | bytes, message: str) -> None:
    """Files that are not usable networks fail with a clear InpError."""
    with pytest.raises(InpError, match=message):
        parse_inp(content)


def test_no_files_left_in_cwd_or_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing and simulating write only to private temp dirs that are removed afterwards."""
    monkeypatch.chdir(tmp_path)
    before = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("hydronet-")}
    wn = parse_inp(load_bundled("Net1"))
    hydraulic(wn, duration_h=2)
    with pytest.raises(InpError):
        parse_inp("[PIPES]\n P1 A B\n")
    assert list(tmp_path.iterdir()) == []
    after = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("hydronet-")}
    assert after <= before
