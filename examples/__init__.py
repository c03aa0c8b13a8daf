"""Runnable recipes; the tests import them, so they stay correct."""
