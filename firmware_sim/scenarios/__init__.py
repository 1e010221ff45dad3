"""Bundled scenario files (``rfidwms sim --scenario <name>``); see ``docs/simulator.md``."""
