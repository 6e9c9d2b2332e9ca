"""The reachability engine: the only place NetworkPolicy semantics live (`../shared/SEMANTICS.md`).

`index` groups endpoints into equivalence classes and answers which policies select what; `reach` decides
connections (per class for matrices, per endpoint with explanations for queries). Both use the same
matching primitives in `index`, so a matrix and a query can never disagree.
"""

from scanner.engine.index import Index

__all__ = ["Index"]
