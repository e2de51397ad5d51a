"""``lifecircle serve``: load the study once and serve the workbench on 127.0.0.1."""

from __future__ import annotations

import argparse

DEFAULT_PORT = 8765
LOCAL_HOST = "127.0.0.1"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """``--port`` and ``--host`` (the run options are added by the caller)."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=LOCAL_HOST,
                        help=f"interface to listen on (default {LOCAL_HOST}; any other value "
                             "exposes the workbench to the network)")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the planner's workbench for the run the options describe."""
    from lifecircle.cli_options import config_from_args
    from lifecircle.console import err

    config = config_from_args(args)
    if args.host != LOCAL_HOST:
        err.print(f"lifecircle: warning: listening on {args.host}, not {LOCAL_HOST}: anyone who "
                  "can reach this machine can use the workbench", markup=False)
    serve(config, args.host, args.port)
    return 0


def serve(config, host: str = LOCAL_HOST, port: int = DEFAULT_PORT) -> None:
    """Load the study, measure the baseline and run uvicorn until interrupted."""
    import uvicorn

    from lifecircle.app.server import Workbench, create_app
    from lifecircle.console import err

    with err.status("loading the study and measuring the baseline"):
        bench = Workbench.from_config(config)
    err.print(f"lifecircle workbench: http://{host}:{port}/  (Ctrl-C to stop)", markup=False)
    uvicorn.run(create_app(bench), host=host, port=port, log_level="warning")
