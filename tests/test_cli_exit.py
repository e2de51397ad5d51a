"""The console script ends with ``os._exit`` after flushing: the exit code, the output and the
``atexit`` handlers must be those ``sys.exit`` would give."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib

from conftest import REPO


def _console(argv: list[str], before: str = "") -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        import atexit, sys, threading, time
        {before}
        sys.argv = ["lifecircle", *{argv!r}]
        from lifecircle.cli_main import command
        command()
        print("not reached")
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_console_script_is_the_quick_exit():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert scripts["project"]["scripts"]["lifecircle"] == "lifecircle.cli_main:command"


def test_output_exit_code_atexit_and_threads_are_kept():
    before = """
        atexit.register(lambda: print("atexit ran", flush=False))
        late = []
        threading.Thread(target=lambda: (time.sleep(0.3), late.append(1),
                                         print("thread finished", flush=False))).start()
    """
    done = _console(["targets", "--region", "四川"], before)
    assert done.returncode == 0, done.stderr
    assert "四川" in done.stdout and "not reached" not in done.stdout
    # buffered prints of the thread and the handler are flushed before the process ends
    assert done.stdout.rstrip().endswith("atexit ran") and "thread finished" in done.stdout


def test_bad_input_still_exits_2_with_one_line(tmp_path):
    done = _console(["run", "--osm", str(tmp_path / "missing.osm.pbf"), "--out",
                     str(tmp_path / "out")])
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "lifecircle: error:" in done.stderr
