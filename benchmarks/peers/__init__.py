"""The peer benchmark on central Chengdu (benchmarks/bench_peers.py), split by concern.

- :mod:`peers.problem`: the coverage question and the snapping every method shares;
- :mod:`peers.recipes`: lifecircle, the networkx recipes (fair and naive), the csgraph floor;
- :mod:`peers.others`: pandana and cityseer;
- :mod:`peers.measure`: interleaved rounds (medians) and lifecircle's stage breakdown;
- :mod:`peers.report`: the RESULTS.md section.
"""
