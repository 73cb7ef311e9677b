"""Benchmark the warehouse at one scale: `make bench SCALE=sample|100k|1m` (python -m bench.run --scale ...).

1. Data: `seeds.generate` at the scale (seed 7, 2023-01-01..2025-12-31) into bench/out/data_<scale>, reused
   when present; staged into bench/out/<scale>/landing with the last day held back (bench/data.py).
2. Full build: the real Dagster job on a fresh warehouse, stages timed from the event log (bench/pipeline.py).
3. Baselines on the same data: the engine floor (bench/floor.py), the CLV fit per customer against the
   weighted fit (bench/clv_compare.py), pandas from the landing files (bench/pandas_baseline.py).
4. Daily increment: the last day's files added, the job run again on the built warehouse.

Steps run in that order whatever order `--steps` names them: the increment changes the warehouse and the
landing directory, so it runs last and every other figure is measured on the full build alone. The
increment keeps dbt's artifacts in <scale>/increment/, apart from the full build's that the floor reads.
`--history-years N` generates N years of history ending on the same day (scale `<name>-<N>y`), to show the
increment stays flat as history grows.

Every measurement runs in its own process, one after another, so each peak memory is its own. Writes
bench/out/<scale>/result.json, a copy in bench/results/<scale>.json, regenerates bench/RESULTS.md, and
prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from bench import report
from bench.data import SCALES, Scale, add_next_day, generate, stage_landing
from orchestration.settings import DBT_PROJECT_DIR, PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "bench"
OUT_DIR = BENCH_DIR / "out"
RESULTS_DIR = BENCH_DIR / "results"
STEPS = ("pipeline", "floor", "clv", "pandas", "increment")


def bench_env() -> dict[str, str]:
    """The environment of every measured process: Python's bytecode cache on, kept under bench/out.

    With PYTHONDONTWRITEBYTECODE set (this sandbox sets it) every Python process, each dbt invocation
    included, compiles all its imports from source again: seconds per process that no installed
    deployment pays. The cache goes to its own directory, so the shared venv is not written to."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(OUT_DIR / "pycache")
    return env


def warm_up() -> float:
    """Fill the bytecode cache (imports of the pipeline and of dbt) before anything is timed."""
    started = time.perf_counter()
    code = "import orchestration.definitions, pandas, scipy.optimize, duckdb"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=bench_env(), check=True)
    with tempfile.TemporaryDirectory() as target:
        dbt = str(Path(sys.executable).parent / "dbt")
        project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        subprocess.run(
            [dbt, "parse", "--quiet", *project, "--target-path", target, "--log-path", target],
            env={**bench_env(), "RW_DUCKDB_PATH": str(Path(target) / "warm.duckdb")},
            check=True,
        )
    return time.perf_counter() - started


def _python(module: str, *args: str, out: Path) -> dict:
    """Run `python -m module args` as a measured child process; its JSON result, or the failure."""
    started = time.perf_counter()
    cpu_before = _children_cpu()
    load_before = os.getloadavg()[0]
    out.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", module, *args, "--out", str(out)], cwd=PROJECT_ROOT, env=bench_env()
    )
    meta = {
        "returncode": proc.returncode,
        "process_seconds": round(time.perf_counter() - started, 3),
        "process_cpu_seconds": round(_children_cpu() - cpu_before, 2),
        "load_average_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    if proc.returncode == 86:
        meta["error"] = "stopped at the memory limit"
    if out.exists():
        return {**json.loads(out.read_text()), **meta}
    return {**meta, "error": meta.get("error", f"{module} exited with {proc.returncode} and no result")}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), "?"
    )
    meminfo = Path("/proc/meminfo").read_text().split()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_bytes": int(meminfo[meminfo.index("MemTotal:") + 1]) * 1024,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def data_counts(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            """select schema_name, table_name, estimated_size from duckdb_tables()
               where schema_name in ('raw', 'marts') and table_name not like '\\_%' escape '\\'"""
        ).fetchall()
        counts = {
            f"{s}.{t}": con.execute(f'select count(*) from {s}."{t}"').fetchone()[0] for s, t, _ in tables
        }
    return dict(sorted(counts.items()))


def run_scale(
    scale: Scale,
    steps: tuple[str, ...] = STEPS,
    out_dir: Path = OUT_DIR,
    results_dir: Path | None = RESULTS_DIR,
    reuse: Path | None = None,
) -> dict:
    """Measure one scale under out_dir (data in out_dir/data_<scale>, runs in out_dir/<scale>)."""
    data_dir = out_dir / f"data_{scale.name}"
    if reuse and not data_dir.exists():
        _link_copy(reuse, data_dir)
    started = time.perf_counter()
    generate(scale, data_dir)
    generate_seconds = time.perf_counter() - started

    root = out_dir / scale.name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    landing, next_day = root / "landing", root / "next_day"
    stage_landing(data_dir, landing, next_day, scale.end)
    result: dict = {
        "scale": scale.name,
        "commit": commit_id(),
        "generator": {
            "customers": scale.customers,
            "seed": scale.seed,
            "start": str(scale.start),
            "end": str(scale.end),
            "held_back_day": str(scale.end),
        },
        "landing_bytes": sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()),
        "next_day_bytes": sum(p.stat().st_size for p in next_day.rglob("*") if p.is_file()),
        "generate_or_reuse_seconds": round(generate_seconds, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    result["warm_up_seconds"] = round(warm_up(), 1)
    wh = str(root / "warehouse.duckdb")
    result["pipeline"] = _python(
        "bench.pipeline", "--root", str(root), "--landing", str(landing), out=root / "pipeline.json"
    )
    if not Path(wh).exists():
        raise SystemExit(f"the pipeline run left no warehouse: {result['pipeline']}")
    result["data"] = data_counts(Path(wh))
    _save(result, root, results_dir)
    for step in (s for s in STEPS if s in steps and s != "pipeline"):
        if step == "floor":
            prepare = [sys.executable, "-m", "bench.floor", "prepare", "--root", str(root)]
            subprocess.run(prepare, env=bench_env(), check=True)
            args = ["run", "--root", str(root), "--landing", str(landing)]
            args += ["--explain", ",".join(_slowest_models(result["pipeline"], 3))]
            result["floor"] = _python("bench.floor", *args, out=root / "floor.json")
            shutil.rmtree(root / "floor", ignore_errors=True)  # the second copy of raw is not needed again
        elif step == "clv":
            result["clv_fit"] = _python("bench.clv_compare", "--warehouse", wh, out=root / "clv.json")
        elif step == "pandas":
            args = ["--landing", str(landing), "--warehouse", wh]
            result["pandas"] = _python("bench.pandas_baseline", *args, out=root / "pandas.json")
        elif step == "increment":
            added = add_next_day(landing, next_day)
            args = ["--root", str(root), "--landing", str(landing), "--artifacts", str(root / "increment")]
            result["increment"] = _python("bench.pipeline", *args, out=root / "increment.json")
            result["increment"]["files_added"] = len(added)
        _save(result, root, results_dir)
    return result


def commit_id() -> str:
    """The commit measured, with `-dirty` when the work tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git(
        "status", "--porcelain", "--untracked-files=no", "--", "orchestration", "dbt_project", "bench"
    )
    return f"{head}-dirty" if dirty else head


def history_scale(scale: Scale, years: int) -> Scale:
    """`scale` with `years` of history ending on its last day, named `<name>-<years>y`."""
    start = scale.end - timedelta(days=365 * years - 1)
    return Scale(f"{scale.name}-{years}y", scale.customers, start, scale.end, scale.seed)


def _save(result: dict, root: Path, results_dir: Path | None) -> None:
    """Write what has been measured so far (a long scale keeps its finished steps if stopped)."""
    result["summary"] = report.summarise(result)
    text = json.dumps(result, indent=2, default=str)
    (root / "result.json").write_text(text)
    if results_dir is not None:
        results_dir.mkdir(exist_ok=True)
        (results_dir / f"{result['scale']}.json").write_text(text)


def _slowest_models(pipeline: dict, n: int) -> list[str]:
    models = [m for d in pipeline.get("dbt", {}).values() for m in d["slowest_models"]]
    return [m["name"] for m in sorted(models, key=lambda m: -m["seconds"])[:n]]


def _link_copy(source: Path, target: Path) -> None:
    """Hard-link another helper's complete generation (same arguments) instead of generating again."""
    if (source / "truth" / "parameters.json").exists():
        shutil.copytree(source, target, copy_function=os.link)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="sample", help=f"{', '.join(SCALES)}, or a name with --customers")
    parser.add_argument("--customers", type=int, help="a custom scale (e.g. the smoke test)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument("--steps", default=",".join(STEPS), help=f"subset of {','.join(STEPS)}")
    parser.add_argument(
        "--history-years", type=int, help="years of history ending on --end (scale named <scale>-<N>y)"
    )
    parser.add_argument(
        "--reuse", type=Path, help="a complete generation with the same arguments to hard-link"
    )
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="where data and runs go")
    parser.add_argument("--no-report", action="store_true", help="no bench/results copy, no RESULTS.md")
    args = parser.parse_args(argv)
    if args.customers:
        scale = Scale(args.scale, args.customers, args.start, args.end)
    elif args.scale in SCALES:
        scale = SCALES[args.scale]
    else:
        parser.error(f"unknown scale {args.scale!r}: use {', '.join(SCALES)} or pass --customers")
    if args.history_years:
        scale = history_scale(scale, args.history_years)
    steps = tuple(s for s in args.steps.split(",") if s)
    results_dir = None if args.no_report else RESULTS_DIR
    result = run_scale(scale, steps, args.out_dir.resolve(), results_dir, args.reuse)
    print(report.scale_table(result))
    if not args.no_report:
        report.write_results_md()
    return 0 if result["pipeline"].get("success") else 1


if __name__ == "__main__":
    sys.exit(main())
