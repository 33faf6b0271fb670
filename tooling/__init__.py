"""Tools around the product, not part of it: the benchmark (``bench/``, ``zhitongche bench``) and
the demo history (``demo_history.py``, ``zhitongche demo --history``). They drive the engine and
the web app from outside; the engine and the web app's request paths never import them (only the
``bench`` and ``demo`` commands do, when they run)."""
