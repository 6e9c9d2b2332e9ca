"""netpol-audit: Kubernetes NetworkPolicy compliance and posture audit.

The package owns collection, the exact NetworkPolicy semantics, rules and reports. Importing it does no
work: no clients, no threads, no configuration reads.
"""

__version__ = "0.1.0"
