"""Parsers of the on-device tools' text output."""
