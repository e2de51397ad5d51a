"""Command-line flags derived from :class:`~lifecircle.config.RunConfig`: one flag per field.

A field's flag is ``--`` plus its name with dashes unless its ``flag`` metadata says otherwise
(``--threshold``, ``--max-snap``, ``--no-osm-facilities``...); help texts are the fields'
descriptions. Parsed values become a RunConfig on top of ``--config FILE`` (flags win), so the
command line, configuration files and scenario files share one schema and one validation.
"""

from __future__ import annotations

import argparse
import typing
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lifecircle.config import RunConfig
from lifecircle.errors import InputError

#: RunConfig fields given as repeated KIND=VALUE flags, and the form they expect
_PAIRS = {"thresholds_m": "KIND=METRES", "thresholds_min": "KIND=MINUTES"}

#: RunConfig fields that only some commands take (the others get every field).
OUTPUT_FIELDS = ("name", "lang", "figures", "report", "tiles")


def _flag(name: str) -> str:
    extra = RunConfig.model_fields[name].json_schema_extra or {}
    return str(extra.get("flag", "--" + name.replace("_", "-")))


def add_config_options(parser: argparse.ArgumentParser, *, outputs: bool = True,
                       only: tuple[str, ...] | None = None) -> None:
    """Add one flag per RunConfig field (grouped as the fields are), plus ``--config``.

    Parameters
    ----------
    parser : the (sub)command's parser
    outputs : include the output fields (language, figures)
    only : restrict to these fields
    """
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name, field in RunConfig.model_fields.items():
        if (only is not None and name not in only) or (not outputs and name in OUTPUT_FIELDS):
            continue
        extra = dict(field.json_schema_extra or {})
        title = str(extra.get("group", "options"))
        group = groups.get(title) or groups.setdefault(title, parser.add_argument_group(title))
        kwargs: dict[str, Any] = {"dest": name, "default": None,
                                  "help": extra.get("flag_help", field.description)}
        flag = _flag(name)
        if field.annotation is bool:
            kwargs["action"] = "store_false" if flag.startswith("--no-") else "store_true"
        elif extra.get("action") == "append" or name in _PAIRS:
            kwargs["action"] = "append"
        elif extra.get("nargs"):
            kwargs["nargs"] = extra["nargs"]
        choices = _choices(field.annotation)
        if choices:
            kwargs["choices"] = choices
        if "metavar" in extra:
            kwargs["metavar"] = extra["metavar"]
        group.add_argument(flag, **kwargs)
    if only is None:
        parser.add_argument("--config", type=Path, metavar="FILE.yaml",
                            help="read options from a configuration file (flags win)")


def _choices(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return None


def config_from_args(args: argparse.Namespace, base: RunConfig | None = None) -> RunConfig:
    """The RunConfig of parsed flags: ``--config FILE`` (or ``base``), then every flag given.

    Raises
    ------
    InputError
        Naming the flag and the problem, e.g. ``--threshold park=abc: expected KIND=METRES``.
    """
    config_file = getattr(args, "config", None)
    config = RunConfig.from_file(config_file) if config_file else (base or RunConfig())
    given: dict[str, Any] = {}
    for name, field in RunConfig.model_fields.items():
        value = getattr(args, name, None)
        if value is None or (field.annotation is bool and value == field.default):
            continue
        given[name] = _thresholds(value, name) if name in _PAIRS else value
    data = config.model_dump() | given
    try:
        checked = RunConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "options"
        shown = given.get(name, data.get(name))
        source = f"{_flag(name)} {_shown(shown)}" if name in RunConfig.model_fields else name
        raise InputError(source.strip(), friendly(error)) from None
    checked = _package_paths(checked)
    if checked.region is not None:  # an unknown region fails now, not after loading the study
        from lifecircle.seeds.targets import load_targets, select_targets

        select_targets(load_targets(checked.targets_file), region=checked.region)
    return checked


def _package_paths(config: RunConfig) -> RunConfig:
    """``package:NAME`` on the command line names a sample shipped with lifecircle, as it does
    in configuration files (``--osm package:chengdu_central.osm.pbf``)."""
    from lifecircle.config import PACKAGE_PREFIX, PATH_FIELDS

    def fix(path: Path | None) -> Path | None:
        if path is None or not str(path).startswith(PACKAGE_PREFIX):
            return path
        from lifecircle.data import sample_path

        return sample_path(str(path).removeprefix(PACKAGE_PREFIX))

    update: dict[str, Any] = {name: fix(getattr(config, name)) for name in PATH_FIELDS}
    update["facilities"] = [fix(p) for p in config.facilities]
    return config.model_copy(update=update)


def friendly(error: dict[str, Any]) -> str:
    """A pydantic validation error in words a user of the command line acts on."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type"):
        return "is not a number"
    if kind == "greater_than":
        return "must be a positive number" if ctx.get("gt") == 0 else \
            f"must be greater than {ctx.get('gt'):,}"
    if kind in ("less_than", "less_than_equal"):
        bound = ctx.get("lt", ctx.get("le"))
        return f"must be {'below' if kind == 'less_than' else 'at most'} {bound:,}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    return str(error["msg"]).removeprefix("Value error, ")


def _thresholds(items: list[str], name: str = "thresholds_m") -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        kind, _, value = item.partition("=")
        try:
            out[kind] = float(value)
        except ValueError:
            raise InputError(f"{_flag(name)} {item}", f"expected {_PAIRS[name]}") from None
    return out


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, dict):
        return " ".join(f"{k}={v:g}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)
