"""Fixture plugin; see tests/conftest.py."""
