"""Benchmarks of the source checkout: run with `python -m bench` from its root.

Not part of the distribution: setuptools does not package it and the image's
build context does not admit it.
"""
