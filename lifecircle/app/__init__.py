"""The planner's workbench: a local web app (``lifecircle serve``) where an official adds or
closes facilities on a map and sees coverage and the targets move at once.

Modules: :mod:`~lifecircle.app.incremental` (the incremental engine),
:mod:`~lifecircle.app.state` (per-session scenarios), :mod:`~lifecircle.app.server` (Starlette
routes), :mod:`~lifecircle.app.scenario_io` (request bodies, YAML export),
:mod:`~lifecircle.app.views` (what the page draws), :mod:`~lifecircle.app.cli` (``serve``).
"""
