"""``lifecircle serve``: load the study once and serve the workbench on 127.0.0.1.

The study is that of an output folder of ``lifecircle run`` (``serve DIR``: the folder's
``config.yaml`` names its inputs) or of the run options (``serve --config FILE.yaml``, flags).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_PORT = 8765
LOCAL_HOST = "127.0.0.1"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """``DIR``, ``--port`` and ``--host`` (the run options are added by the caller)."""
    parser.add_argument("dir", type=Path, nargs="?", metavar="DIR",
                        help="an output folder of lifecircle run: serve its study (else the "
                             "run options name the study)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=LOCAL_HOST,
                        help=f"interface to listen on (default {LOCAL_HOST}; any other value "
                             "exposes the workbench to the network)")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the planner's workbench for the run the options (or the folder) describe."""
    from lifecircle.cli_options import config_from_args
    from lifecircle.console import err
    from lifecircle.errors import InputError

    base = None
    if args.dir is not None:
        if getattr(args, "config", None):
            raise InputError(args.dir, "give an output folder or --config, not both")
        base = folder_config(args.dir)
    config = config_from_args(args, base=base)  # flags given beside DIR win, as with --config
    if args.host != LOCAL_HOST:
        err.print(f"lifecircle: warning: listening on {args.host}, not {LOCAL_HOST}: anyone who "
                  "can reach this machine can use the workbench", markup=False)
    serve(config, args.host, args.port)
    return 0


def folder_config(folder: Path):
    """The RunConfig an output folder of ``lifecircle run`` was made with (its ``config.yaml``).

    Raises
    ------
    InputError
        The folder is missing, is not a lifecircle output (no manifest), or predates
        ``config.yaml`` (its scorecard names input files without their folders: not enough to
        rebuild the study).

    Examples
    --------
    >>> folder_config(Path("no/such/folder"))
    Traceback (most recent call last):
    ...
    lifecircle.errors.InputError: no/such/folder: no such folder
    """
    from lifecircle.config import RunConfig
    from lifecircle.errors import InputError
    from lifecircle.output import MANIFEST
    from lifecircle.pipeline.result import CONFIG_FILE

    if not folder.is_dir():
        raise InputError(folder, "no such folder" if not folder.exists() else "not a folder")
    try:
        listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(folder, f"not an output folder of lifecircle run (no readable "
                                 f"{MANIFEST})") from None
    if CONFIG_FILE not in listed or not (folder / CONFIG_FILE).is_file():
        raise InputError(folder, f"written by an older lifecircle without {CONFIG_FILE}: "
                                 "run lifecircle run again, or serve --config FILE.yaml")
    return RunConfig.from_file(folder / CONFIG_FILE)


def serve(config, host: str = LOCAL_HOST, port: int = DEFAULT_PORT) -> None:
    """Load the study, measure the baseline and run uvicorn until interrupted."""
    import uvicorn

    from lifecircle.app.server import Workbench, create_app
    from lifecircle.console import err

    with err.status("loading the study and measuring the baseline"):
        bench = Workbench.from_config(config)
    err.print(f"lifecircle workbench: http://{host}:{port}/  (Ctrl-C to stop)", markup=False)
    uvicorn.run(create_app(bench), host=host, port=port, log_level="warning")
