"""Opening a delimited text file as people have it: the encoding and delimiter are found, not
asked for.

Excel writes "CSV UTF-8" with a byte-order mark, plain "CSV" in the machine's code page (cp1252
on Western Windows), and `;` instead of `,` wherever the decimal sign is a comma."""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path
from typing import IO

_BOM = codecs.BOM_UTF8
_CHUNK = 1 << 20
# a multi-byte UTF-8 character: a file holding one is UTF-8, whatever else it holds
_UTF8_CHARACTER = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
DELIMITERS = (",", ";", "\t")


def text_encoding(path: Path) -> str:
    """`utf-8-sig` for a file with a byte-order mark; `utf-8` when the whole file is UTF-8, or
    when it holds UTF-8 characters next to a few bytes that are not (those lines are then
    rejected one by one); `cp1252` for a file with no UTF-8 character at all but bytes that are
    not UTF-8: what Excel's plain "CSV" writes on Western Windows."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        first = handle.read(len(_BOM))
        if first == _BOM:
            return "utf-8-sig"
        handle.seek(0)
        holds_utf8 = False
        clean = True
        while chunk := handle.read(_CHUNK):
            holds_utf8 = holds_utf8 or _UTF8_CHARACTER.search(chunk) is not None
            if clean:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    clean = False
            if holds_utf8 and not clean:
                break
        if clean:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                clean = False
    return "utf-8" if clean or holds_utf8 else "cp1252"


def open_text(path: Path) -> IO[str]:
    """The file as text, newlines untranslated (the csv module reads quoted line breaks and
    CRLF itself). Bytes the encoding cannot read become lone surrogates, so that the line
    holding them is rejected on its own."""
    return path.open(encoding=text_encoding(path), errors="surrogateescape", newline="")


def header_delimiter(header_line: str) -> str:
    """The delimiter the header line uses most, outside quotes; `,` when it uses none.

    Counting in the header is steadier than csv.Sniffer on a sample, which a `;` file whose
    data holds commas (companies, "1,5") or a one-column file can mislead."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def dict_reader(handle: IO[str]) -> csv.DictReader[str]:
    """A DictReader with the delimiter of the file's first line; header names are trimmed."""
    first = handle.readline()
    handle.seek(0)
    reader = csv.DictReader(handle, delimiter=header_delimiter(first))
    if reader.fieldnames is not None:
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
    return reader
