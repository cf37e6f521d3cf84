"""Helpers shared by the tests: data writers, model builders, reference implementations."""
