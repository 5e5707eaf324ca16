"""Design-based survey statistics for VoicesCount.

A pure library over numpy/scipy: arrays in, frozen results out; no Django, no I/O.
Import from the submodules (``voicescount.stats.design``, ``.estimators`` …).
"""
