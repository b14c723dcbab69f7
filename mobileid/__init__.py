"""The assembly: settings, database wiring, the ASGI app and the `mobileid` command."""

__version__ = "0.1.0"
