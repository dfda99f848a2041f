"""Faust tables, one module owning each."""
