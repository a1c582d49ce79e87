"""Formatting only: display tables (tables) and figures (figures)."""
