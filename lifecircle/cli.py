"""The ``lifecircle`` command line: thin adapters from argv to :class:`RunConfig` and the API.

Every failure is one line: bad input exits 2 (``lifecircle: error: INPUT: problem``), anything
else exits 1 with a hint to rerun with ``--debug`` (which shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from lifecircle.errors import InputError, LifecircleError

EXIT_BAD_INPUT, EXIT_INTERNAL = 2, 1


def _interrupted_while_loading(signum, frame) -> None:  # Ctrl-C before main's handler is set
    os.write(2, b"lifecircle: interrupted; nothing was written\n") and os._exit(130)


if __name__ == "__main__" or Path(sys.argv[0]).name == "lifecircle":  # not when imported
    signal.signal(signal.SIGINT, _interrupted_while_loading)


def _config(args: argparse.Namespace):
    from lifecircle.cli_options import config_from_args
    from lifecircle.output import check_output_folder

    config = config_from_args(args)
    if getattr(args, "out", None) is not None:  # refuse a folder before any work, not after
        check_output_folder(args.out, config.input_paths())
    return config


def _study(config, prefetch_basemap: bool = False):
    from lifecircle.console import err
    from lifecircle.layers import basemap, study

    basemap.prefetch_basemap(config.osm if prefetch_basemap else None)  # on another core
    with err.status("reading layers"):
        return study.load_study(config)


def cmd_run(args: argparse.Namespace, config=None) -> int:
    """Run every metric on a study and write the output folder."""
    from lifecircle import console
    from lifecircle.startup import pipeline_imported
    config = config or _config(args)
    if args.print_config:
        console.out.print(config.to_yaml(), end="", markup=False)
        return 0
    run, import_writers = pipeline_imported(config.osm)  # the OSM file read on the other core
    started = time.perf_counter()
    study = _study(config, prefetch_basemap=True)
    with console.err.status("measuring") as status:
        result = run(study, config, progress=status.update, defer_layers=True,
                     while_waiting=import_writers)
        status.update("writing outputs, map and figures")
        del study  # the result alone holds it: to_folder frees its layers and streets once written
        result.to_folder(args.out, keep_layers=False)
    console.run_summary(result, args.out, time.perf_counter() - started)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run on the central Chengdu sample shipped with lifecircle (offline, modelled population)."""
    from lifecircle.cli_options import RunConfig, config_from_args
    from lifecircle.console import err
    from lifecircle.data import sample_path

    config = config_from_args(args, RunConfig(osm=sample_path(), residential_density=400,
                                              region="四川"))
    err.print("demo: central Chengdu (© OpenStreetMap contributors, ODbL), 400 people/ha")
    return cmd_run(args, config)


def cmd_catchments(args: argparse.Namespace) -> int:
    """A run for one kind: catchments, demand against capacity, 2SFCA."""
    return cmd_run(args, _config(args).model_copy(update={"kinds": [args.kind]}))


def cmd_circles(args: argparse.Namespace) -> int:
    """Service circles of one kind at several walking times or distances."""
    from lifecircle import console
    from lifecircle.coverage.circles import minutes_to_m
    from lifecircle.output import atomic_directory, write_layers
    from lifecircle.pipeline.tools import kind_circles

    config = _config(args).model_copy(update={"kinds": [args.kind]})
    metres = minutes_to_m(args.minutes, config.walk_speed_m_per_min) if args.minutes else []
    metres = metres or list(args.metres or []) or [config.threshold(args.kind)]
    if any(not 0 < m <= 20000 for m in metres):
        raise InputError("--minutes/--metres", "walks must be between 0 and 20,000 m")
    stage = kind_circles(_study(config), config, args.kind, metres)
    with atomic_directory(args.out, config.input_paths()) as staging:
        write_layers(staging / "circles.gpkg", stage.layers)
    console.circles_table(stage.layers["uncovered"], args.kind,
                          dict(zip(metres, args.minutes, strict=True)) if args.minutes else None)
    console.out.print(f"wrote {Path(args.out) / 'circles.gpkg'} (service_circles, uncovered)")
    return 0


def cmd_parks(args: argparse.Namespace) -> int:
    """Park service-radius coverage and the per-park table."""
    from lifecircle import console
    from lifecircle.coverage.parks import tier_rules
    from lifecircle.output import atomic_directory, write_csv, write_layers
    from lifecircle.pipeline.tools import park_figures

    config = _config(args)
    stage = park_figures(_study(config), config)
    console.parks_table(stage.tables["parks.csv"], stage.metrics, config.lang,
                        tier_rules("gbt50563-2010"))
    if args.out:
        with atomic_directory(args.out, config.input_paths()) as staging:
            write_csv(staging / "parks.csv", stage.tables["parks.csv"])
            write_layers(staging / "parks.gpkg", stage.layers)
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    """Where new facilities of a kind go: the fewest reaching a target, or the best k."""
    from lifecircle import console
    from lifecircle.scenarios.site import parse_target, site, write_sites

    config = _config(args)
    if args.add is not None and not 1 <= args.add <= 500:
        raise InputError(f"--add {args.add}", "must be between 1 and 500")
    target, preset = parse_target(args.target, args.kind) if args.target else (None, None)
    if preset:  # the target's metric names the park indicator
        config = config.model_copy(update={"park_preset": preset})
    study = _study(config)
    with console.err.status("optimising (HiGHS)"):
        report = site(study, config, args.kind, target_share=target, add=args.add,
                      objective=args.objective, candidates=args.candidates,
                      spacing_m=args.spacing, size_m2=args.site_size, gates=args.gates_add)
        write_sites(report, args.out, config.input_paths())
    console.site_summary(report)
    console.out.print(f"wrote {Path(args.out) / 'sites.html'}, sites.csv, .gpkg and .json")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Run every area of a file on Dask, one task per area."""
    from lifecircle import console
    from lifecircle.scenarios.batch import run_batch

    config = _config(args)
    with console.err.status("areas") as status:
        summary = run_batch(args.areas, config, args.out, scheduler=args.scheduler,
                            workers=args.workers, name_column=args.name_column,
                            progress=lambda done, total, name: status.update(
                                f"areas {done}/{total} ({name})"))
    console.batch_summary(summary, Path(args.out))
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    """Run a scenario file: baseline, scenario and the change per metric and target."""
    from lifecircle import console
    from lifecircle.scenarios.compare import run_scenario

    with console.err.status("scenario") as status:
        comparison = run_scenario(args.file, args.out, progress=status.update)
    console.scenario_table(comparison)
    console.out.print(f"wrote {Path(args.out)}/baseline, scenario and comparison.json/.csv")
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    """List the target catalogue (packaged or a user file), optionally for one region."""
    from lifecircle.console import out
    from lifecircle.seeds.targets import load_targets, select_targets, targets_table

    out.print(targets_table(select_targets(load_targets(args.targets_file), region=args.region,
                                           ids=args.targets)))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    """The metric registry and the facility kinds with their thresholds and clauses."""
    from lifecircle.console import registry_tables

    registry_tables(args.lang or "zh")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """Draw map.html and figures/*.png of an existing output folder."""
    from lifecircle.maps import screenshot, write_figures, write_map
    path = write_map(args.dir, lang=args.lang or "zh", kind=args.kind, tiles=args.tiles or "none")
    figures = [] if args.figures is False else write_figures(args.dir, lang=args.lang or "zh")
    if args.png:
        screenshot(path, args.png)
    print(f"wrote {path} and {len(figures)} figures")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lifecircle`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    signal.signal(signal.SIGINT, signal.default_int_handler)
    warnings.showwarning = _one_line_warning
    sys.unraisablehook = _one_line_unraisable
    try:
        from lifecircle.cli_parser import build_parser  # inside: Ctrl-C while it loads is caught
        args = build_parser().parse_args([a for a in argv if a != "--debug"])
        return args.func(args)
    except LifecircleError as exc:
        if debug:
            raise
        _error(f"error: {exc}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error("interrupted; the previous output (if any) is unchanged")
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure reaches the user as one line
        if debug:
            raise
        text = " ".join(str(exc).split())[:300]
        _error(f"internal error: {type(exc).__name__}: {text} (rerun with --debug for the "
               "traceback)")
        return EXIT_INTERNAL


def _error(message: str) -> None:
    from lifecircle.console import err
    err.print(f"lifecircle: {message}", markup=False)


def _one_line_unraisable(info) -> None:  # Ctrl-C in a lazy import reaches import-lock cleanup
    if not isinstance(info.exc_value, KeyboardInterrupt):
        _error(f"warning: ignored {type(info.exc_value).__name__}: {info.exc_value}")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _error(f"warning: {' '.join(str(message).split())}")


if __name__ == "__main__":  # as the console script: one command, then a quick exit
    from lifecircle.cli_main import command
    command()
