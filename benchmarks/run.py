"""Run every benchmark (benchmarks/bench_*.py) once, on this machine, and write RESULTS.md.

Each benchmark is a script that prints a Markdown section; this runner adds the machine and
collects the sections. Usage: ``python benchmarks/run.py [name ...]`` (names without ``bench_``).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """One line describing the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                      .splitlines() if line.startswith("MemTotal"))
        memory = f"{mem_kb / 1024 ** 2:.0f} GiB"
    except (OSError, StopIteration):
        memory = "unknown memory"
    return (f"{os.cpu_count()} cores ({cpu}), {memory}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


MARK = "<!-- section: {} -->"


def previous_sections() -> dict[str, str]:
    """Sections of the existing RESULTS.md by benchmark name (kept when not re-run)."""
    path = HERE / "RESULTS.md"
    if not path.exists():
        return {}
    sections = {}
    for chunk in path.read_text(encoding="utf-8").split("<!-- section: ")[1:]:
        name, _, body = chunk.partition(" -->")
        sections[name] = body.strip() + "\n"
    return sections


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    sections = previous_sections()
    failed = 0
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        started = time.strftime("%Y-%m-%d")
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              check=False, cwd=HERE.parent)
        if proc.returncode != 0:
            failed += 1
            tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
            body = f"## {script.stem}\n\nFAILED: {tail[0]}\n"
        else:
            body = proc.stdout.strip() + f"\n\n_Run {started} on this machine._\n"
        sections[script.stem] = body
        print(body)
    header = (f"# Benchmarks\n\nMachine: {machine()}  \n"
              "Each figure is one run on this machine; ratios compare methods on the same data "
              "in the same process. `python benchmarks/run.py [name ...]` re-runs some and keeps "
              "the others' sections.\n")
    text = header + "".join(f"\n{MARK.format(name)}\n{body}" for name, body in
                            sorted(sections.items()))
    (HERE / "RESULTS.md").write_text(text, encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
