"""Shared pieces of the statement tests: the organisation, reading PDFs back."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from pypdf import PdfReader

from anbi.core.settings import Organisation

ORGANISATION = Organisation(name="Stichting Voorbeeld", rsin="824150004", address="Postbus 1, 1000 AA Amsterdam",
                            website="https://voorbeeld.example")
# The same identity for `cli(...)`, through the environment (ANBI_<SECTION>_<KEY>).
ORG_ENV = {
    "ANBI_ORGANISATION_NAME": ORGANISATION.name,
    "ANBI_ORGANISATION_RSIN": ORGANISATION.rsin,
    "ANBI_ORGANISATION_ADDRESS": ORGANISATION.address,
}


def pdf_text(data: bytes | Path) -> str:
    if isinstance(data, Path):
        data = data.read_bytes()
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_pages(data: bytes | Path) -> int:
    if isinstance(data, Path):
        data = data.read_bytes()
    return len(PdfReader(io.BytesIO(data)).pages)


def manifest(path: Path) -> list[dict[str, str]]:
    with (path / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
