"""Provides nothing yet: the UI tests share helpers through tests/ui/helpers.py."""
