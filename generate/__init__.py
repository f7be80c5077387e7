"""Every generated file of the repository, written from signals/ by one pipeline.

`python -m generate [--check]` (`make generate`): see pipeline.py for what is written, in
which order, and why; __main__.py is the command line.
"""
