"""Reusable dashboard controls."""
