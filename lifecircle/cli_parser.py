"""The argument parser of every ``lifecircle`` subcommand; run options come from RunConfig."""

from __future__ import annotations

import argparse
from pathlib import Path

import lifecircle
from lifecircle import cli
from lifecircle.cli_options import add_config_options
from lifecircle.errors import InputError


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (an InputError, exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"lifecircle {self.prog.split(' ', 1)[-1]}".strip(), message)


def build_parser(parser_class: type[argparse.ArgumentParser] = OneLineParser
                 ) -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = parser_class(prog="lifecircle", description="Walking access to public services "
                          "against China's urbanization targets.")
    parser.add_argument("--version", action="version",
                        version=f"lifecircle {lifecircle.__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=parser_class)

    def command(name: str, func, text: str, *, study: bool = True,
                out: str | None = "output folder (created, or replaced when it is a previous "
                                  "lifecircle output)",
                out_default: Path | None = None, out_required: bool = True
                ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        if study:
            add_config_options(p)
        if out:
            p.add_argument("--out", type=Path, required=out_required and out_default is None,
                           default=out_default, help=out)
        p.set_defaults(func=func, print_config=False)
        return p

    run = command("run", cli.cmd_run, "measure every metric on a study area")
    run.set_defaults(print_config=False)
    run.add_argument("--print-config", action="store_true",
                     help="print the effective configuration as YAML and stop")
    batch = command("batch", cli.cmd_batch, "run many areas (counties) on Dask, one task each")
    batch.add_argument("areas", type=Path, help="areas file (GeoPackage/GeoJSON) with a name")
    batch.add_argument("--name-column", help="the areas' name column (default name/NAME/名称)")
    batch.add_argument("--scheduler", help="dask scheduler address (default: a LocalCluster)")
    batch.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    scenario = command("scenario", cli.cmd_scenario, "run a what-if scenario file against its "
                       "baseline", study=False)
    scenario.add_argument("file", type=Path, help="scenario YAML")
    targets = command("targets", cli.cmd_targets, "list the plans' targets", study=False,
                      out=None)
    add_config_options(targets, only=("region", "targets", "targets_file"))
    metrics = command("metrics", cli.cmd_metrics, "list every metric and facility kind",
                      study=False, out=None)
    add_config_options(metrics, only=("lang",))
    catch = command("catchments", cli.cmd_catchments, "school or clinic catchments with load "
                    "ratios")
    catch.add_argument("--kind", required=True, help="e.g. primary_school, clinic, hospital")
    circ = command("circles", cli.cmd_circles, "service circles of one kind (5/10/15 minutes)")
    circ.add_argument("--kind", required=True, help="facility kind, e.g. clinic")
    walk = circ.add_mutually_exclusive_group()
    walk.add_argument("--minutes", type=float, nargs="+", help="walking minutes, e.g. 5 10 15")
    walk.add_argument("--metres", type=float, nargs="+", help="walking distances in metres")
    command("parks", cli.cmd_parks, "park service-radius coverage and the per-park table",
            out="also write parks.csv and parks.gpkg here", out_required=False)
    site = command("site", cli.cmd_site, "where new parks, schools or clinics should go")
    site.add_argument("--kind", required=True, help="e.g. park, primary_school, clinic")
    goal = site.add_mutually_exclusive_group(required=True)
    goal.add_argument("--target", help="fewest sites reaching METRIC=SHARE, e.g. "
                                       "park_service_radius_coverage=0.86")
    goal.add_argument("--add", type=int, help="the best K new sites")
    goal.add_argument("--gates-add", type=int, metavar="K", help="the best K new gates in the "
                      "gated compounds (needs --compounds, --gates)")
    site.add_argument("--objective", choices=["coverage", "median"], default="coverage",
                      help="coverage: most people within the threshold (MCLP; parks: the "
                           "official figure); median: least walking, with capacities")
    site.add_argument("--candidates", type=Path, help="candidate sites file (else OSM land "
                                                      "plus a grid)")
    site.add_argument("--spacing", type=float, default=250.0, help="grid spacing, metres")
    site.add_argument("--site-size", type=float, help="size of a grid site, m² (parks: 5000)")
    demo = command("demo", cli.cmd_demo, "run on the central Chengdu sample shipped with "
                   "lifecircle (offline)", study=False,
                   out="output folder (default lifecircle-demo)",
                   out_default=Path("lifecircle-demo"))
    add_config_options(demo, only=("lang", "figures", "tiles"))
    mp = command("map", cli.cmd_map, "draw map.html and figures of an existing output folder",
                 study=False, out=None)
    mp.add_argument("dir", type=Path, help="a folder written by lifecircle run")
    add_config_options(mp, only=("lang", "figures", "tiles"))
    mp.add_argument("--kind", help="the kind population cells are coloured by")
    mp.add_argument("--png", type=Path, help="also save a screenshot (headless Chromium)")
    from lifecircle.app.cli import add_serve_arguments, cmd_serve

    add_serve_arguments(command("serve", cmd_serve, "the planner's workbench: a local web app "
                                "to add or close facilities and watch the targets", out=None))
    return parser
