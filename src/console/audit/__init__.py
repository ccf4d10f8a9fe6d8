"""Append-only audit events."""
