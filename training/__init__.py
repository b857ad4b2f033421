"""Training: the reader models and the readers' fitted numbers (not part of the installed package).

Run each script as a module from the top of the checkout, with reportqa installed
(``pip install -e .``): ``python -m training.fit``, ``python -m training.train_reader`` …
"""
