"""What cannot be undone is confirmed first (issue 13, item 14): `anbi donors forget`
and `anbi donors merge` ask on a terminal, `--yes` answers for the person, and
without a terminal and without `--yes` they refuse in one line and change nothing.
The web merge asks for a confirmation step (tests/webapp/test_donor_pages.py)."""
from __future__ import annotations

import os
import select as select_module
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import anbi.core.cli_options
from donors.models import Donor, DonorMerge
from tests.factories import make_donor


@pytest.fixture
def donors(engine):
    with Session(engine) as session:
        make_donor(session, ref="D1", first_name="Jan", last_name="Jansen", email="jan@example.nl")
        make_donor(session, ref="D2", first_name="J.", last_name="Janssen")
        session.commit()


def _state(engine) -> tuple:
    with Session(engine) as session:
        d1 = session.scalar(select(Donor).where(Donor.ref == "D1"))
        return d1 is not None and d1.email, session.scalar(select(DonorMerge.id))


@pytest.mark.parametrize("args, what", [(("forget", "D1"), "an erasure"), (("merge", "D1", "D2"), "a merge")])
def test_without_a_terminal_and_without_yes_nothing_is_done(cli, engine, donors, args, what):
    result = cli("donors", *args)
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {what} cannot be undone: run it on a terminal to be asked, "
                                     "or add --yes; nothing was changed")
    assert _state(engine) == ("jan@example.nl", None)


@pytest.mark.parametrize("args", [("forget", "D1"), ("merge", "D1", "D2")])
def test_on_a_terminal_no_is_no(cli, engine, donors, monkeypatch, args):
    monkeypatch.setattr(anbi.core.cli_options, "on_a_terminal", lambda: True)
    result = cli("donors", *args, input="n\n")
    assert result.exit_code == 1
    assert "This cannot be undone. [y/N]" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: not confirmed: nothing was changed"
    assert _state(engine) == ("jan@example.nl", None)


def test_on_a_terminal_yes_merges(cli, engine, donors, monkeypatch):
    monkeypatch.setattr(anbi.core.cli_options, "on_a_terminal", lambda: True)
    result = cli("donors", "merge", "D1", "D2", input="y\n")
    assert result.exit_code == 0, result.stderr
    assert "Merge donor D2 (J. Janssen) into D1 (Jan Jansen)? This cannot be undone." in result.stderr
    assert result.stdout.startswith("Merged D2 into D1")
    assert _state(engine)[1] is not None


def test_an_unknown_donor_is_named_before_anything_is_asked(cli, donors, monkeypatch):
    monkeypatch.setattr(anbi.core.cli_options, "on_a_terminal", lambda: True)
    result = cli("donors", "forget", "NOPE")
    assert (result.exit_code, result.stderr.strip()) == (1, "error: no donor with ref 'NOPE'")


def _read_until(fd: int, text: bytes, seconds: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while text not in seen:
        assert time.monotonic() < deadline, f"waited for {text!r}, saw {seen!r}"
        ready, _, _ = select_module.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_forget_asks_on_a_real_terminal(db_url, engine, donors, tmp_path):
    """A pseudo-terminal, as a person at a shell: the question, then `y`."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "ANBI_CONFIG": "", "ANBI_DATABASE_URL": db_url}
    process = subprocess.Popen([sys.executable, "-c", "from anbi.cli import main; main()", "donors", "forget", "D1"],
                               stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path)
    os.close(slave)
    try:
        shown = _read_until(master, b"[y/N]")
        assert b"Erase donor D1 (Jan Jansen)? This cannot be undone." in shown
        os.write(master, b"y\n")
        shown += _read_until(master, b"Deleted:")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert b"Donor D1 erased completely" in shown
    assert _state(engine) == (False, None)
