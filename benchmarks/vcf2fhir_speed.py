"""Print per-sample time and peak memory of VCF → star-allele calling (``call_vcf``).

    .venv/bin/python -m benchmarks.vcf2fhir_speed [--repeat 3] [--records 5000000] [--seed 1]

Cases: PharmCAT's whole-panel example VCF (plain text); a synthetic whole-genome-sized VCF
(benchmarks/synthetic_vcf.py, cached under var/bench/) bgzipped with a .tbi index, and the same
file without one; and, as the floor for "one streaming pass", a bare cyvcf2 iteration over it.
Each run is a fresh process, so peak RSS (VmHWM) is that case's alone; it includes the
interpreter and imports, shown apart as "RSS before". "read MB" is what the call read() from
any file (the VCF, compressed; its index; knowledge files), so each pass over the VCF shows.
Figures go to docs/benchmarks.md; nothing here asserts a time (timed tests flake).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if not __package__:  # run as a file, not with -m: make `benchmarks.synthetic_vcf` importable
    sys.path.insert(0, str(REPO))
EXAMPLE = REPO.parent / "shared" / "pgx-data" / "truth" / "pharmcat_examples"
EXAMPLE_VCF = EXAMPLE / "pharmcat.example.vcf"


@dataclass(frozen=True)
class Case:
    """One row of the table: what to run on which file."""

    label: str
    path: Path
    mode: str  # "call": call_vcf; "scan": bare cyvcf2 iteration; "query": region queries
    records: int


@dataclass(frozen=True)
class Run:
    """What one child process measured."""

    seconds: float
    warm_seconds: float | None
    process_seconds: float
    rss_before_mb: float
    peak_rss_mb: float
    read_mb: float
    detail: str


# --- child side: runs in a fresh interpreter, prints one JSON line ---------------------------


def _memory_mb(field: str) -> float:
    """VmRSS / VmHWM of this process from /proc (Linux), else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _read_mb() -> float:
    """Bytes this process has read through read() so far (any file), from /proc; 0 elsewhere."""
    io = Path("/proc/self/io")
    if not io.exists():
        return 0.0
    fields = dict(line.split(": ") for line in io.read_text().splitlines())
    return int(fields["rchar"]) / 1e6


def _measured(work: Callable[[], str]) -> dict[str, Any]:
    """Time ``work`` once in this process, with the memory and bytes read around it."""
    before = _memory_mb("VmRSS")
    read_before = _read_mb()
    started = time.perf_counter()
    detail = work()
    return {
        "seconds": time.perf_counter() - started,
        "read_mb": _read_mb() - read_before,
        "rss_before_mb": before,
        "peak_rss_mb": _memory_mb("VmHWM"),
        "detail": detail,
    }


def _child_call(path: Path) -> dict[str, Any]:
    try:
        from fhir_adapters.vcf.pipeline import call_vcf
    except ImportError as exc:
        sys.exit(f"vcf2fhir_speed: cannot import fhir_adapters.vcf.pipeline.call_vcf ({exc})")

    def work() -> str:
        results = call_vcf(path)
        called = sum(1 for sample in results for gene in sample.genes if gene.called)
        genes = sum(len(sample.genes) for sample in results)
        return f"{len(results)} sample(s), {called}/{genes} genes called"

    figures = _measured(work)
    started = time.perf_counter()
    call_vcf(path)  # same process: allele definitions and anything else cached are now warm
    figures["warm_seconds"] = time.perf_counter() - started
    return figures


def _child_scan(path: Path) -> dict[str, Any]:
    from cyvcf2 import VCF

    return _measured(lambda: f"{sum(1 for _ in VCF(str(path))):,} records iterated")


def _child_query(path: Path) -> dict[str, Any]:
    from cyvcf2 import VCF

    from benchmarks.synthetic_vcf import definition_positions

    sites = definition_positions()

    def work() -> str:
        vcf = VCF(str(path))
        found = sum(
            1
            for s in sites
            for _ in vcf(f"{s.chromosome}:{s.position}-{s.position + len(s.ref) - 1}")
        )
        return f"{len(sites)} region queries, {found} records"

    return _measured(work)


def child(mode: str, path: Path) -> None:
    """Measure one run and print it as JSON on stdout."""
    measure = {"call": _child_call, "scan": _child_scan, "query": _child_query}[mode]
    print(json.dumps(measure(path)))


# --- parent side ------------------------------------------------------------------------------


def _run_child(case: Case) -> Run:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.vcf2fhir_speed", "--child", case.mode, str(case.path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    process_seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{case.label}: child failed ({done.returncode})\n{done.stderr}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(
        seconds=data["seconds"],
        warm_seconds=data.get("warm_seconds"),
        process_seconds=process_seconds,
        rss_before_mb=data["rss_before_mb"],
        peak_rss_mb=data["peak_rss_mb"],
        read_mb=data["read_mb"],
        detail=data["detail"],
    )


def synthetic_files(cache: Path, records: int, seed: int) -> tuple[Path, Path]:
    """The cached synthetic VCF with its .tbi, and a hard link to it with no index beside it."""
    from benchmarks.synthetic_vcf import generate

    indexed = cache / f"synthetic-{records}-seed{seed}.vcf.gz"
    bare = cache / f"synthetic-{records}-seed{seed}-noindex.vcf.gz"
    if not (indexed.exists() and indexed.with_name(indexed.name + ".tbi").exists()):
        print(f"generating {indexed} ({records:,} records) ...", file=sys.stderr, flush=True)
        summary = generate(indexed, records=records, seed=seed, index=True)
        print(f"  {summary.seconds:.1f} s", file=sys.stderr)
        bare.unlink(missing_ok=True)
    if not bare.exists() or not bare.samefile(indexed):
        bare.unlink(missing_ok=True)
        try:
            os.link(indexed, bare)
        except OSError:
            shutil.copyfile(indexed, bare)
    for stale in (bare.with_name(bare.name + ".tbi"), bare.with_name(bare.name + ".csi")):
        stale.unlink(missing_ok=True)
    return indexed, bare


def _records(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for line in handle if not line.startswith("#"))


def _row(case: Case, runs: list[Run]) -> str:
    times = [r.seconds for r in runs]
    warm = [r.warm_seconds for r in runs if r.warm_seconds is not None]
    warm_text = f"{statistics.median(warm):.3f}" if warm else "-"
    process = statistics.median(r.process_seconds for r in runs)
    peak = max(r.peak_rss_mb for r in runs)
    before = statistics.median(r.rss_before_mb for r in runs)
    return (
        f"| {case.label} | {case.records:,} | {statistics.median(times):.3f} ({min(times):.3f}) "
        f"| {warm_text} | {process:.2f} | {peak:.0f} ({before:.0f}) | {runs[-1].read_mb:.1f} "
        f"| {runs[-1].detail} |"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; median reported")
    parser.add_argument("--records", type=int, default=5_000_000, help="synthetic VCF records")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--example", type=Path, default=EXAMPLE_VCF)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    indexed, bare = synthetic_files(args.cache, args.records, args.seed)
    size = f"{indexed.stat().st_size / 1e6:.0f} MB"
    cases = [
        Case("whole-panel example, plain VCF", args.example, "call", _records(args.example)),
        Case(f"synthetic, bgzip + .tbi ({size})", indexed, "call", args.records),
        Case(f"synthetic, bgzip, no index ({size})", bare, "call", args.records),
        Case("floor: cyvcf2 iteration, no index", bare, "scan", args.records),
        Case("floor: cyvcf2 region queries, .tbi", indexed, "query", args.records),
    ]
    print(
        "| Case | Records | call s, median (min) | warm s | process s | peak RSS MB (before) "
        "| read MB | Result |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for case in cases:
        runs = [_run_child(case) for _ in range(args.repeat)]
        print(_row(case, runs), flush=True)


if __name__ == "__main__":
    main()
