"""Table-driven semantic tests: one case per point of /work/shared/SEMANTICS.md (a package, so its conftest
does not shadow tests/conftest.py as the module `conftest`)."""
