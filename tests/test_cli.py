"""`retention-warehouse`, the console script `make install` puts in .venv/bin, run as a user types it: each
command's --help, the documented exit codes, `generate` writing landing files and `serving` on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMAND = Path(sys.executable).parent / "retention-warehouse"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(COMMAND), *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_it_is_installed_and_lists_its_commands_and_exit_codes() -> None:
    assert COMMAND.is_file(), (
        "not installed: make install (pip install -e . creates it from [project.scripts])"
    )
    done = run("--help")
    assert done.returncode == 0
    for word in ("build", "serving", "generate", "exit codes", "0 ", "1 ", "2 "):
        assert word in done.stdout, word


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("build", ["--landing", "--full-refresh", "--duckdb"]),
        ("serving", ["list", "rollback", "publish"]),
        ("generate", ["--customers", "--seed", "--start", "--end", "--out"]),
    ],
)
def test_each_command_has_help(command: str, options: list[str]) -> None:
    done = run(command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: retention-warehouse {command}")
    for option in options:
        assert option in done.stdout, option


def test_a_wrong_command_line_exits_2() -> None:
    assert run("deploy").returncode == 2
    assert run("build", "--no-such-option").returncode == 2
    assert run("generate", "--customers", "ten").returncode == 2


def test_generate_then_serving_on_an_empty_serving_directory(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    done = run(
        "generate", "--customers", "40", "--seed", "1", "--start", "2024-01-01", "--end", "2024-03-31",
        "--out", str(out), "--no-gzip",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (out / "landing" / "orders" / "orders").iterdir()) == [
        "orders_2024-01.jsonl",
        "orders_2024-02.jsonl",
        "orders_2024-03.jsonl",
    ]

    serving = ["serving", "--serving-dir", str(tmp_path / "serving"), "--reports-dir", str(tmp_path / "r")]
    listed = run(*serving, "list")
    assert listed.returncode == 0 and "nothing published" in listed.stderr
    refused = run(*serving, "rollback")
    assert refused.returncode == 1 and "rollback refused" in refused.stderr
