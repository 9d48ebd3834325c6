"""Meta-analytic models: pure array engines (``_wls``, ``tau2``) and their orchestration (``univariate``).

Nothing here reads files or prints; ``univariate.meta_analysis`` is the public entry point.
"""
