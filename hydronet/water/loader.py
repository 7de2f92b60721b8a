"""Reading EPANET .inp text into a WNTR model, with errors that name the line and section."""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
import types
from pathlib import Path

import wntr
from wntr.epanet.exceptions import ENSyntaxError, EpanetException
from wntr.network import WaterNetworkModel

from hydronet.water.errors import AnalysisInputError, InpError

_LIBRARY = Path(wntr.__file__).resolve().parent / "library" / "networks"
_AT_LINE = re.compile(r",? at line (\d+)(?::\s*\n.*)?", re.S)
_ERROR_CODE = re.compile(r"^\(Error \d+\)\s*")
_BAD_NUMBER = re.compile(r"could not convert string to float: ('[^']*')")
_END = re.compile(r"^\s*\[END\]", re.I | re.M)
_SECTION = re.compile(r"^\s*(\[[A-Za-z_]+\])")
_ENCODINGS = ("utf-8-sig", "gb18030")


def content_hash(text: str | bytes) -> str:
    """SHA-256 hex digest of the .inp content (text is hashed as UTF-8)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def decode_inp(data: bytes) -> str:
    """Decode uploaded .inp bytes: UTF-8 (with or without BOM), then GB18030, then Latin-1."""
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def bundled_network_names() -> list[str]:
    """Names of the example networks shipped with WNTR (Net1, Net3, ky10, ...)."""
    return sorted(path.stem for path in _LIBRARY.glob("*.inp"))


def load_bundled(name: str) -> str:
    """The .inp text of a bundled example network, matched case-insensitively."""
    names = {candidate.casefold(): candidate for candidate in bundled_network_names()}
    found = names.get(name.removesuffix(".inp").casefold())
    if found is None:
        raise AnalysisInputError(f"unknown bundled network {name!r}; available: {', '.join(names.values())}")
    return (_LIBRARY / f"{found}.inp").read_text(encoding="utf-8")


def parse_inp(text: str | bytes, name: str = "network") -> WaterNetworkModel:
    """Parse .inp text with WNTR in a private temp dir; raise :class:`InpError` on bad input."""
    if isinstance(text, bytes):
        text = decode_inp(text)
    _precheck(text)
    with tempfile.TemporaryDirectory(prefix="hydronet-inp-") as tmp:
        path = Path(tmp) / "network.inp"
        path.write_text(_with_default_units(text), encoding="utf-8")
        try:
            wn = WaterNetworkModel(str(path))
        except Exception as exc:  # wntr raises many types; all mean "bad file"
            raise _to_inp_error(exc, text) from exc
    if wn.num_nodes == 0:
        raise InpError("no nodes found: the file has no [JUNCTIONS], [TANKS] or [RESERVOIRS] entries")
    if wn.num_tanks + wn.num_reservoirs == 0:
        raise InpError("the network has no tank or reservoir, so heads cannot be computed", section="[RESERVOIRS]")
    wn.name = name
    _check_finite(wn)
    return wn


def _precheck(text: str) -> None:
    """Reject empty or binary content, and IDs used twice, before WNTR sees it."""
    if not text.strip():
        raise InpError("the file is empty")
    for number, line in enumerate(text.splitlines(), start=1):
        if "\x00" in line:
            raise InpError("binary data (NUL bytes) found: expected an EPANET .inp text file", line=number)
    _check_unique_ids(text)


# Sections that define nodes and links, by kind. EPANET keeps nodes and links in separate name spaces.
_DEFINING_SECTIONS = {
    "[JUNCTIONS]": "node",
    "[RESERVOIRS]": "node",
    "[TANKS]": "node",
    "[PIPES]": "link",
    "[PUMPS]": "link",
    "[VALVES]": "link",
}


def _check_unique_ids(text: str) -> None:
    """Refuse a node (or link) ID defined twice, in one section or two.

    WNTR accepts it: the later entry replaces the element while the first section's list keeps the
    name, so a reservoir then turns up among the junctions and analyses fail on it.
    """
    seen: dict[tuple[str, str], tuple[str, int]] = {}
    section = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _SECTION.match(line)
        if header:
            section = header.group(1).upper()
            continue
        kind = _DEFINING_SECTIONS.get(section or "")
        words = line.split(";", 1)[0].split()
        if kind is None or not words:
            continue
        first = seen.setdefault((kind, words[0]), (section, number))
        if first != (section, number):
            where = "twice in " + section if first[0] == section else f"in {first[0]} and {section}"
            raise InpError(
                f"line {number} in {section}: {kind} ID {words[0]!r} is defined {where} (first on line "
                f"{first[1]}); every {kind} needs its own ID",
                line=number,
                section=section,
            )


def _with_default_units(text: str) -> str:
    """Add EPANET's default ``UNITS GPM`` when the file has none (WNTR crashes without it).

    The option goes just before ``[END]`` (or at the end), so reported line numbers do not move.
    """
    section = None
    for line in text.splitlines():
        header = _SECTION.match(line)
        section = header.group(1).upper() if header else section
        words = line.split(";", 1)[0].split()
        if section == "[OPTIONS]" and len(words) > 1 and words[0].upper() == "UNITS":
            return text
    option = "[OPTIONS]\n UNITS GPM\n"
    end = _END.search(text)
    if end is None:
        return text.rstrip("\n") + "\n" + option
    return text[: end.start()] + option + text[end.start() :]


def _to_inp_error(exc: BaseException, text: str) -> InpError:
    """Build an InpError from a WNTR parse exception chain."""
    chain = _exception_chain(exc)
    line = _line_from_messages(chain) or _line_from_frames(chain)
    lines = text.splitlines()
    content = " ".join(lines[line - 1].split())[:200] if line and 0 < line <= len(lines) else ""
    section = _section_at(lines, line) if line else None
    reason = _reason(chain, content)
    if not content:
        return InpError(reason, line=line, section=section)
    where = f"line {line}" + (f" in {section}" if section else "")
    return InpError(f"{where}: {reason}: {content!r}", line=line, section=section)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception followed by its causes/contexts, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _line_from_messages(chain: list[BaseException]) -> int | None:
    """The line number that WNTR put in an error message (``at line N``)."""
    for exc in reversed(chain):
        match = _AT_LINE.search(str(exc))
        if match:
            return int(match.group(1))
    return None


def _line_from_frames(chain: list[BaseException]) -> int | None:
    """The ``lnum`` local of the innermost WNTR reader frame (WNTR omits it from many errors)."""
    for exc in reversed(chain):
        frames: list[types.FrameType] = []
        tb = exc.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        for frame in reversed(frames):
            lnum = frame.f_locals.get("lnum")
            if isinstance(lnum, int) and "wntr" in frame.f_code.co_filename:
                return lnum
    return None


def _section_at(lines: list[str], line: int) -> str | None:
    """The ``[SECTION]`` header in force at a 1-based line."""
    for index in range(min(line, len(lines)) - 1, -1, -1):
        match = _SECTION.match(lines[index])
        if match:
            return match.group(1).upper()
    return None


def _reason(chain: list[BaseException], content: str) -> str:
    """A short human reason for a parse failure."""
    for exc in chain:
        number = _BAD_NUMBER.search(str(exc))
        if number:
            return f"invalid number {number.group(1)}"
    specific = [exc for exc in chain if isinstance(exc, EpanetException) and not str(exc).startswith("(Error 200)")]
    innermost = specific[-1] if specific else chain[-1]
    if isinstance(innermost, ENSyntaxError) and content.startswith("["):
        return "unknown section header"
    raw = innermost.args[0] if innermost.args and isinstance(innermost.args[0], str) else str(innermost)
    message = _AT_LINE.sub("", _ERROR_CODE.sub("", raw)).replace(" (%s)", "").strip()
    if message == "syntax error":
        return "syntax error (text outside a [SECTION], or an unrecognised entry)"
    if isinstance(innermost, KeyError) and not isinstance(innermost, EpanetException):
        return f"unknown name or keyword {message!r}"
    if isinstance(innermost, IndexError):
        return "too few fields on this line"
    return message or type(innermost).__name__


_FINITE_CHECKS = (
    ("[PIPES]", "pipe", "link_name_list", ("length", "diameter", "roughness", "minor_loss")),
    ("[JUNCTIONS]", "junction", "junction_name_list", ("elevation", "base_demand")),
    ("[TANKS]", "tank", "tank_name_list", ("elevation", "init_level", "min_level", "max_level", "diameter")),
    ("[RESERVOIRS]", "reservoir", "reservoir_name_list", ("base_head",)),
)


def _check_finite(wn: WaterNetworkModel) -> None:
    """Refuse NaN/infinite numbers (e.g. a length of `nan` or `1e309`), which break every simulation."""
    for section, kind, names_attr, attributes in _FINITE_CHECKS:
        for name in getattr(wn, names_attr):
            element = wn.get_link(name) if kind == "pipe" else wn.get_node(name)
            if kind == "pipe" and getattr(element, "link_type", "Pipe") != "Pipe":
                continue
            for attribute in attributes:
                value = getattr(element, attribute, None)
                if isinstance(value, (int, float)) and not math.isfinite(value):
                    raise InpError(f"{kind} {name!r}: {attribute} is not a finite number ({value})", section=section)
