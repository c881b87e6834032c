"""Experiments: grids of repeated arena runs on identical snapshots, and their statistics.

spec.py (experiment files, the grid of cells), executor.py (runs cells), run.py (snapshot
stores, resumable cells, status), records.py (reading a cell's records), stats.py, report.py,
markdown.py, figures.py. CLI: `python -m agent_engine.experiment run|status|report <name>`.
"""
