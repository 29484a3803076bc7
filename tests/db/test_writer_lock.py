"""SQLite writers in several processes queue on one file lock, held exactly as long as the transaction."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from isao.db import Database

_TRY = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("busy")
else:
    print("free")
"""


def _other_process_sees(lock: Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", _TRY, str(lock)], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


@pytest.mark.no_database  # its own SQLite file: the PostgreSQL pass has nothing to add
def test_a_write_transaction_holds_the_lock_other_processes_wait_on(tmp_path: Path) -> None:
    database = tmp_path / "isao.db"
    db = Database(f"sqlite:///{database}")
    lock = Path(f"{database}.writer")
    try:
        with db.write():
            assert _other_process_sees(lock) == "busy"
        assert _other_process_sees(lock) == "free"
        with pytest.raises(RuntimeError), db.write():
            raise RuntimeError("a failed transaction releases the lock too")
        assert _other_process_sees(lock) == "free"
    finally:
        db.dispose()
