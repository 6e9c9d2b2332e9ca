"""Renderers: turn result data into text, tables, CSV (and later SARIF, JUnit, HTML, PDF).

Renderers read result data only; they never consult the engine or the cluster.
"""
