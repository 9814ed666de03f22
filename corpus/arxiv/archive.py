"""Read arXiv sources safely, in memory, one submission at a time.

An input file is one of (sniffed by content, never trusted by extension; FIELD-NOTES 4 "Formats"):
a tar (plain or compressed) holding one submission, a gzip-compressed single `.tex`, a plain
`.tex`, a zip upload, or a bulk tar such as arXiv's monthly `arXiv_src_YYMM_NNN.tar`, whose
members are whole submissions (`YYMM/YYMM.NNNNN.gz`, or `.pdf` for PDF-only papers).

Nothing is extracted to disk. Members are read into a `{path: bytes}` map under limits:
- a member path climbing out (`../`) or absolute (`/etc/x`) rejects the submission
  (`unsafe_path`); Windows drive paths (`c:\\data\\x`) are rewritten as arXiv's file manager does;
- links pointing outside the submission reject it (`unsafe_link`), links inside are resolved;
- device files and FIFOs reject it (`unsafe_member_type`);
- more than `max_members` members or `max_archive_bytes` expanded bytes (counted before reading,
  and again while decompressing, since headers can lie) reject it (`too_many_members`,
  `archive_too_large`);
- truncated or corrupt containers raise `truncated_archive` / `corrupt_archive` with the
  library's message. A corrupt *nested* archive is only noted: arXiv accepts such uploads
  with a warning and the TeX beside it is intact.
Junk that arXiv removes itself (`__MACOSX/`, AppleDouble `._x`, `.DS_Store`) is skipped.
Figures are not kept (their names are), so a paper's memory is its TeX, not its images.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zlib_ng import zlib_ng

from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.errors import InputError

UNSAFE_PATH = "unsafe_path"
UNSAFE_LINK = "unsafe_link"
UNSAFE_MEMBER_TYPE = "unsafe_member_type"
TOO_MANY_MEMBERS = "too_many_members"
ARCHIVE_TOO_LARGE = "archive_too_large"
TRUNCATED_ARCHIVE = "truncated_archive"
CORRUPT_ARCHIVE = "corrupt_archive"
EMPTY_ARCHIVE = "empty_archive"
UNSUPPORTED_COMPRESSION = "unsupported_compression"

GZIP_MAGIC = b"\x1f\x8b"
COMPRESS_MAGIC = b"\x1f\x9d"  # Unix `compress` (.Z): no stdlib reader
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"

# Files whose bytes we never need (figures, build products); only their names are kept.
BINARY_SUFFIXES = {
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".eps",
    ".ps",
    ".epsi",
    ".epsf",
    ".svg",
    ".tif",
    ".tiff",
    ".bmp",
    ".mp4",
    ".avi",
    ".mov",
    ".mp3",
    ".wav",
    ".pdf_t",
    ".dvi",
    ".aux",
    ".log",
    ".blg",
    ".out",
    ".toc",
    ".lof",
    ".lot",
    ".fls",
    ".synctex",
    ".fdb_latexmk",
    ".ttf",
    ".otf",
    ".pfb",
    ".tfm",
    ".vf",
    ".xlsx",
    ".docx",
    ".doc",
    ".ppt",
    ".pptx",
    ".nb",
    ".mat",
    ".npy",
    ".h5",
    ".pkl",
    ".jar",
    ".o",
}
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".gz", ".tar.bz2", ".tbz", ".tar.xz")
JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
JUNK_DIRS = {"__MACOSX"}

# arXiv ids: new style 0704.0001 / 1501.00001 (optionally vN), old style hep-th/9411028 -> hep-th9411028.
# Old-style identifiers (before April 2007) name an archive: hep-th/9411028, stored as hep-th9411028.
OLD_ARCHIVES = (
    "hep-th|hep-ph|hep-lat|hep-ex|astro-ph|cond-mat|gr-qc|math-ph|nucl-th|nucl-ex|quant-ph|math|cs|nlin|"
    "physics|q-bio|q-fin|stat|chao-dyn|solv-int|patt-sol|adap-org|comp-gas|alg-geom|dg-ga|funct-an|q-alg|"
    "mtrl-th|supr-con|acc-phys|ao-sci|atom-ph|bayes-an|chem-ph|plasm-ph|cmp-lg"
)
ARXIV_ID = re.compile(
    rf"(?<![\w.])(\d{{4}}\.\d{{4,5}}(?:v\d+)?|(?:{OLD_ARCHIVES})(?:\.[A-Z]{{2}})?/?\d{{7}}(?:v\d+)?)(?!\d)"
)
BULK_MEMBER = re.compile(
    rf"^(?:[\w\-]+/)*(?:\d{{4}}\.\d{{4,5}}|(?:{OLD_ARCHIVES})\d{{7}})(?:v\d+)?(?:\.tar)?\.(?:gz|pdf|tgz|tar)$"
)
WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass
class Submission:
    """One paper's files, ready for main-file detection."""

    input: str
    member: str | None  # member of a bulk tar; None when the input is the submission
    name: str  # file name the arXiv id is taken from
    container: str  # tar | gzip | zip | plain
    files: dict[str, bytes | None] = field(default_factory=dict)  # None: name only (figures)
    sizes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    nbytes: int = 0  # bytes of the input (or bulk member) as stored
    original_name: str | None = None  # gzip header FNAME (`was "0903.0180.tar"`)
    sha256: str | None = None  # of the submission's bytes as stored

    @property
    def arxiv_id(self) -> str | None:
        for candidate in (self.name, self.original_name or ""):
            stem = Path(candidate).name
            m = ARXIV_ID.search(stem)
            if m:
                ident = m.group(1)
                # hep-th9411028 (how old-style ids are stored as file names) -> hep-th/9411028
                return (
                    ident
                    if ident[0].isdigit() or "/" in ident
                    else re.sub(r"(\d{7})", r"/\1", ident, count=1)
                )
        return None


@dataclass
class FailedSubmission:
    """A submission (or a bulk-tar member) that cannot be read; it is quarantined alone."""

    input: str
    member: str | None
    error: InputError
    nbytes: int = 0
    data: bytes | None = None


class _Budget:
    """Expanded bytes and members of one submission, shared by its nested archives."""

    def __init__(self, config: ArxivConfig, where: str):
        self.config = config
        self.where = where
        self.bytes = 0
        self.members = 0

    def add_member(self, size: int) -> None:
        self.members += 1
        if self.members > self.config.max_members:
            raise InputError(
                TOO_MANY_MEMBERS, f"more than {self.config.max_members} members", path=self.where
            )
        self.add_bytes(size)

    def add_bytes(self, size: int) -> None:
        self.bytes += size
        if self.bytes > self.config.max_archive_bytes:
            raise InputError(
                ARCHIVE_TOO_LARGE,
                f"expands to more than {self.config.max_archive_bytes} bytes",
                path=self.where,
            )

    def remaining(self) -> int:
        return max(0, self.config.max_archive_bytes - self.bytes)


def iter_submissions(path: str, config: ArxivConfig) -> Iterator[Submission | FailedSubmission]:
    """Yield every submission of one input file; a bad one is yielded as `FailedSubmission`."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
        size = Path(path).stat().st_size
    except OSError as err:
        yield FailedSubmission(path, None, InputError(CORRUPT_ARCHIVE, str(err), path=path))
        return
    if _is_tar_header(head):
        # Plain tars are streamed: a bulk tar can be gigabytes.
        yield from _iter_tar_file(path, size, config)
        return
    if size > config.max_input_bytes:
        err = InputError(ARCHIVE_TOO_LARGE, f"{size} bytes > max_input_bytes", path=path)
        yield FailedSubmission(path, None, err, nbytes=size)
        return
    data = Path(path).read_bytes()
    try:
        yield read_submission(data, path, None, Path(path).name, config)
    except InputError as err:
        err.path = err.path or path
        yield FailedSubmission(path, None, err, nbytes=len(data), data=data)


def read_submission(
    data: bytes, input: str, member: str | None, name: str, config: ArxivConfig
) -> Submission:
    """Bytes of one submission (any container) -> its files. Raises InputError."""
    where = f"{input}::{member}" if member else input
    budget = _Budget(config, where)
    sub = Submission(input=input, member=member, name=name, container="plain", nbytes=len(data))
    sub.sha256 = hashlib.sha256(data).hexdigest()
    if data.startswith(GZIP_MAGIC):
        sub.original_name = gzip_original_name(data)
    sub.container = _unpack_into(sub, data, name, "", budget, depth=0, where=where)
    return sub


def _unpack_into(
    sub: Submission, data: bytes, name: str, prefix: str, budget: _Budget, depth: int, where: str
) -> str:
    """Add the files of `data` (named `name`, placed under `prefix`) to `sub`; return its container kind."""
    if data.startswith(COMPRESS_MAGIC):
        raise InputError(UNSUPPORTED_COMPRESSION, "Unix compress (.Z) data; no reader", path=where)
    if data.startswith((GZIP_MAGIC, BZIP2_MAGIC, XZ_MAGIC)):
        inner = _decompress(data, budget, where)
        inner_name = gzip_original_name(data) if data.startswith(GZIP_MAGIC) else None
        inner_name = Path(inner_name or _strip_compression_suffix(name)).name
        if _is_tar_header(inner[:512]) or (len(inner) >= 512 and not inner[:512].strip(b"\0")):
            _read_tar(sub, inner, prefix, budget, depth, where)
            return "tar"
        budget.add_member(len(inner))
        _add_file(sub, prefix + _single_file_name(inner_name, inner), inner, budget)
        return "gzip"
    if data.startswith(ZIP_MAGICS):
        _read_zip(sub, data, prefix, budget, depth, where)
        return "zip"
    if _is_tar_header(data[:512]) or (len(data) >= 1024 and not data[:1024].strip(b"\0")):
        _read_tar(sub, data, prefix, budget, depth, where)
        return "tar"
    budget.add_member(len(data))
    _add_file(sub, prefix + _single_file_name(Path(name).name, data), data, budget)
    return "plain"


def _decompress(data: bytes, budget: _Budget, where: str) -> bytes:
    """Decompress gzip/bzip2/xz under the byte budget (a bomb stops at the limit, not at EOF)."""
    import bz2
    import lzma

    limit = budget.remaining()
    try:
        if data.startswith(GZIP_MAGIC):
            # zlib-ng inflates the same streams 1.6x faster than zlib (bench/RESULTS.md: 14% of
            # the extraction time went to inflating tars of figures); same API, same limits.
            dec = zlib_ng.decompressobj(wbits=47)
            out = dec.decompress(data, limit + 1)
        else:
            dec = bz2.BZ2Decompressor() if data.startswith(BZIP2_MAGIC) else lzma.LZMADecompressor()
            out = dec.decompress(data, max_length=limit + 1)
    except (zlib.error, zlib_ng.error, OSError, EOFError, lzma.LZMAError) as err:
        raise InputError(CORRUPT_ARCHIVE, f"cannot decompress: {err}", path=where) from err
    if len(out) > limit:
        raise InputError(
            ARCHIVE_TOO_LARGE, f"expands to more than {budget.config.max_archive_bytes} bytes", path=where
        )
    if not dec.eof:
        raise InputError(TRUNCATED_ARCHIVE, "compressed stream ends before its end marker", path=where)
    return out


def gzip_original_name(data: bytes) -> str | None:
    """The FNAME field of a gzip header (arXiv keeps `0903.0180.tar` there), if any."""
    if len(data) < 10 or not data.startswith(GZIP_MAGIC) or not data[3] & 0x08:
        return None
    pos = 10
    if data[3] & 0x04:  # FEXTRA
        if len(data) < 12:
            return None
        pos += 2 + int.from_bytes(data[10:12], "little")
    end = data.find(b"\0", pos, pos + 1024)
    if end < 0:
        return None
    return data[pos:end].decode("latin-1") or None


def _is_tar_header(block: bytes) -> bool:
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    # v7 tar: no magic, but a valid header checksum.
    try:
        stored = int(block[148:156].rstrip(b" \0").decode("ascii") or "-1", 8)
    except ValueError:
        return False
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    return stored == computed and block[0] != 0


def _strip_compression_suffix(name: str) -> str:
    for suffix in (".gz", ".tgz", ".bz2", ".xz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] + (".tar" if suffix == ".tgz" else "")
    return name


def _single_file_name(name: str, data: bytes) -> str:
    """A lone file (gzip payload, plain upload) with TeX inside is named `*.tex` so it is a candidate."""
    if name.lower().endswith((".tex", ".ltx", ".latex")):
        return name
    if looks_like_tex(data):
        return (name[:-4] if name.lower().endswith(".tar") else name) + ".tex"
    return name


TEX_SIGNATURE = re.compile(rb"\\(?:documentclass|documentstyle|begin\s*\{document\})")


def looks_like_tex(data: bytes) -> bool:
    return bool(TEX_SIGNATURE.search(data[:200_000]))


def normalize_member_name(name: str, where: str) -> tuple[str, str | None]:
    """Archive member name -> safe relative POSIX path, and a note when it was rewritten.

    Raises `unsafe_path` for names that climb out of the submission or are absolute.
    """
    note = None
    if WINDOWS_DRIVE.match(name):
        # arXiv's file manager "renames Windows paths to Unix style paths".
        note = f"windows path rewritten: {name!r}"
        name = name[3:].replace("\\", "/")
    if name.startswith("/"):
        raise InputError(UNSAFE_PATH, f"absolute member path {name!r}", path=where)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InputError(UNSAFE_PATH, f"member path leaves the submission: {name!r}", path=where)
    return "/".join(parts), note


def is_junk(path: str) -> bool:
    parts = path.split("/")
    base = parts[-1]
    return base.startswith("._") or base in JUNK_NAMES or any(p in JUNK_DIRS for p in parts[:-1])


def _add_file(sub: Submission, path: str, data: bytes, budget: _Budget) -> None:
    if not path or is_junk(path):
        return
    sub.sizes[path] = len(data)
    suffix = posixpath.splitext(path.lower())[1]
    if suffix in BINARY_SUFFIXES and not data.startswith((GZIP_MAGIC, *ZIP_MAGICS)):
        sub.files[path] = None
        return
    if len(data) > budget.config.max_text_member_bytes and not path.lower().endswith(ARCHIVE_SUFFIXES):
        sub.files[path] = None
        sub.notes.append(f"skipped {path}: {len(data)} bytes > max_text_member_bytes")
        return
    sub.files[path] = data


def _nested(sub: Submission, path: str, data: bytes, budget: _Budget, depth: int, where: str) -> bool:
    """Unpack a nested archive member in place; return False when `path` is not one."""
    low = path.lower()
    if not low.endswith(ARCHIVE_SUFFIXES) or low.endswith(".synctex.gz"):
        return False
    if not data:
        sub.notes.append(f"empty nested archive {path}")
        return True
    is_archive = data.startswith((GZIP_MAGIC, *ZIP_MAGICS, BZIP2_MAGIC, XZ_MAGIC)) or _is_tar_header(
        data[:512]
    )
    if not is_archive:
        return False
    if depth >= budget.config.max_nesting_depth:
        sub.notes.append(f"nested archive {path} not unpacked: depth limit {budget.config.max_nesting_depth}")
        return True
    prefix = posixpath.dirname(path)
    prefix = prefix + "/" if prefix else ""
    try:
        _unpack_into(sub, data, posixpath.basename(path), prefix, budget, depth + 1, f"{where}::{path}")
    except InputError as err:
        if err.reason in (ARCHIVE_TOO_LARGE, TOO_MANY_MEMBERS, UNSAFE_PATH, UNSAFE_LINK, UNSAFE_MEMBER_TYPE):
            raise
        sub.notes.append(f"nested archive {path}: {err.reason} ({err.detail})")
    return True


def _read_tar(sub: Submission, data: bytes, prefix: str, budget: _Budget, depth: int, where: str) -> None:
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    except tarfile.ReadError as err:
        raise InputError(CORRUPT_ARCHIVE, f"not a readable tar: {err}", path=where) from err
    links: list[tuple[str, str]] = []
    try:
        for info in tf:
            _take_tar_member(sub, tf, info, prefix, budget, depth, where, links)
    except (tarfile.ReadError, EOFError, OSError, zlib.error) as err:
        raise InputError(TRUNCATED_ARCHIVE, f"tar ends inside a member or header: {err}", path=where) from err
    _resolve_links(sub, links, where)


def _take_tar_member(
    sub: Submission,
    tf: tarfile.TarFile,
    info: tarfile.TarInfo,
    prefix: str,
    budget: _Budget,
    depth: int,
    where: str,
    links: list[tuple[str, str]],
) -> None:
    name, note = normalize_member_name(info.name, where)
    if note:
        sub.notes.append(note)
    if info.isdir() or not name:
        return
    path = prefix + name
    if info.issym() or info.islnk():
        target = info.linkname
        if info.issym():
            target = posixpath.join(posixpath.dirname(name), target) if not target.startswith("/") else target
        norm = posixpath.normpath(target) if target else ""
        if not target or target.startswith("/") or norm.startswith("../") or norm == "..":
            raise InputError(
                UNSAFE_LINK, f"{info.name} links outside the submission: {info.linkname!r}", path=where
            )
        links.append((path, prefix + norm))
        budget.add_member(0)
        return
    if info.ischr() or info.isblk() or info.isfifo() or not info.isfile():
        kind = {
            tarfile.CHRTYPE: "character device",
            tarfile.BLKTYPE: "block device",
            tarfile.FIFOTYPE: "FIFO",
        }
        raise InputError(
            UNSAFE_MEMBER_TYPE, f"{info.name} is a {kind.get(info.type, 'special file')}", path=where
        )
    budget.add_member(info.size)
    if is_junk(path):
        return
    fh = tf.extractfile(info)
    content = fh.read() if fh is not None else b""
    if len(content) != info.size:
        raise InputError(TRUNCATED_ARCHIVE, f"member {info.name} is cut short", path=where)
    if not _nested(sub, path, content, budget, depth, where):
        _add_file(sub, path, content, budget)


def _resolve_links(sub: Submission, links: list[tuple[str, str]], where: str) -> None:
    for _ in range(len(links) + 1):  # links to links resolve over several rounds
        pending = []
        for path, target in links:
            if target in sub.files:
                sub.files[path] = sub.files[target]
                sub.sizes[path] = sub.sizes.get(target, 0)
            else:
                pending.append((path, target))
        if len(pending) == len(links):
            break
        links = pending
    for path, target in links:
        sub.notes.append(f"dangling link {path} -> {target}")


def _read_zip(sub: Submission, data: bytes, prefix: str, budget: _Budget, depth: int, where: str) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputError(CORRUPT_ARCHIVE, f"not a readable zip: {err}", path=where) from err
    for info in infos:
        name, note = normalize_member_name(info.filename, where)
        if note:
            sub.notes.append(note)
        if info.is_dir() or not name:
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise InputError(UNSAFE_LINK, f"{info.filename} is a symbolic link", path=where)
        if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
            raise InputError(UNSAFE_MEMBER_TYPE, f"{info.filename} is a special file", path=where)
        path = prefix + name
        budget.add_member(info.file_size)
        if is_junk(path):
            continue
        try:
            with zf.open(info) as fh:
                content = fh.read(budget.remaining() + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as err:
            if looks_textual_name(path):
                raise InputError(CORRUPT_ARCHIVE, f"member {info.filename}: {err}", path=where) from err
            sub.notes.append(f"unreadable zip member {path}: {err}")
            continue
        if len(content) > info.file_size:
            budget.add_bytes(len(content) - info.file_size)  # the header lied: count what was read
        if not _nested(sub, path, content, budget, depth, where):
            _add_file(sub, path, content, budget)


def looks_textual_name(path: str) -> bool:
    return path.lower().endswith((".tex", ".bbl", ".bib", ".sty", ".cls", ".ltx"))


def _iter_tar_file(path: str, size: int, config: ArxivConfig) -> Iterator[Submission | FailedSubmission]:
    """Stream a tar: one submission, or (bulk tar) one submission per member."""
    where = path
    try:
        tf = tarfile.open(path, mode="r|")
    except tarfile.ReadError as err:
        yield FailedSubmission(path, None, InputError(CORRUPT_ARCHIVE, str(err), path=path), nbytes=size)
        return
    sub = Submission(input=path, member=None, name=Path(path).name, container="tar", nbytes=size)
    budget = _Budget(config, where)
    links: list[tuple[str, str]] = []
    bulk: bool | None = None
    current = None
    try:
        with tf:
            for info in tf:
                current = info.name
                if bulk is None and info.isfile():
                    bulk = bool(BULK_MEMBER.match(info.name.lstrip("./")))
                if bulk:
                    if not info.isfile():
                        continue
                    if info.size > config.max_input_bytes:
                        detail = f"{info.size} bytes > max_input_bytes"
                        yield FailedSubmission(
                            path, info.name, InputError(ARCHIVE_TOO_LARGE, detail, path=path)
                        )
                        continue
                    fh = tf.extractfile(info)
                    data = fh.read() if fh is not None else b""
                    if len(data) != info.size:
                        raise tarfile.ReadError("unexpected end of data")
                    yield _bulk_member(path, info.name, data, config)
                else:
                    _take_tar_member(sub, tf, info, "", budget, 0, where, links)
    except InputError as err:
        if bulk:
            yield FailedSubmission(path, current, err)
            return
        yield FailedSubmission(path, None, err, nbytes=size)
        return
    except (tarfile.ReadError, EOFError, OSError, zlib.error) as err:
        error = InputError(TRUNCATED_ARCHIVE, f"tar ends inside a member or header: {err}", path=path)
        yield FailedSubmission(path, current if bulk else None, error, nbytes=0 if bulk else size)
        return
    if bulk:
        return
    try:
        _resolve_links(sub, links, where)
    except InputError as err:
        yield FailedSubmission(path, None, err, nbytes=size)
        return
    yield sub


def _bulk_member(path: str, member: str, data: bytes, config: ArxivConfig) -> Submission | FailedSubmission:
    try:
        return read_submission(data, path, member, Path(member).name, config)
    except InputError as err:
        return FailedSubmission(path, member, err, nbytes=len(data), data=data)
