"""Benchmarks: measurements only (not part of the installed package); nothing here writes into src/.

Run each script as a module from the top of the checkout, with reportqa installed
(``pip install -e .``): ``python -m benchmarks.quality``, ``python -m benchmarks.speed`` …
A benchmark that refits a reader leaving one article out uses ``training.fitting``.
"""
