"""Central Chengdu: lifecircle's coverage stage against the tools planners would use instead.

Issue 20 ("honest peers"). Same data (the real central Chengdu walk network and its modelled
population grid), same machine, ONE process, interleaved rounds (medians); every method answers
the same question: the walking distance from every population cell to the nearest facility of
every kind, and the population share within the kind's threshold.

1. lifecircle's coverage stage: ``NodeIndex`` + ``kind_access`` for every kind.
2. networkx, FAIR: one ``nx.multi_source_dijkstra_path_length`` per kind from one virtual node
   per facility (edges to its access nodes as long as the offsets), on ``nx.Graph`` and on
   osmnx's ``MultiDiGraph``; and the NAIVE per-access-node recipe, labelled so.
3. pandana: contraction hierarchies, then ``set_pois`` / ``nearest_pois`` per kind.
4. cityseer: ``layers.compute_accessibilities`` on a ``NetworkStructure`` of the same graph.
5. The floor: one bare ``scipy.sparse.csgraph.dijkstra(min_only=True)`` per kind.

Each is searched to lifecircle's bound (the distance cap) and to the threshold, and compared
with lifecircle at the same bound. The code lives in :mod:`peers`; this module keeps the names
the tests and bench_scale import.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers.measure import (  # noqa: E402
    ROUNDS,
    contenders,
    fast_rounds,
    interleaved,
    timed,
    zero_offset_shares,
)
from peers.problem import CHENGDU, cell_shares, chengdu_problem, make_problem, prepare  # noqa: E402
from peers.recipes import (  # noqa: E402
    csgraph_floor,
    lifecircle_coverage,
    networkx_fair,
    networkx_graph,
    networkx_naive,
    networkx_recipe,
    networkx_simple_graph,
)
from peers.report import report  # noqa: E402

__all__ = ["cell_shares", "csgraph_floor", "fast_rounds", "lifecircle_coverage", "make_problem",
           "networkx_fair", "networkx_graph", "networkx_naive", "networkx_recipe",
           "networkx_simple_graph", "prepare", "timed"]


def main() -> None:
    """Measure on central Chengdu and print the section (skipped without the data)."""
    if not CHENGDU.exists():
        print(f"## bench_peers\n\nskipped: {CHENGDU} not found\n")
        return
    problem = chengdu_problem()
    load_before = os.getloadavg()
    measured = interleaved(contenders(problem), ROUNDS)
    breakdown = fast_rounds(problem, ROUNDS).breakdown
    with open(Path(tempfile.gettempdir()) / "bench_peers_raw.json", "w", encoding="utf-8") as f:
        # the raw medians, kept in case the report step is to be redone
        json.dump([{"method": c.method, "bound": c.bound, "seconds": c.seconds,
                    "shares": c.shares} for c in measured], f)
    report(problem, measured, breakdown, zero_offset_shares(problem), load_before)


if __name__ == "__main__":
    main()
