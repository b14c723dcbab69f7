"""The gate terminal: `POST /scan`, a local SQLite store, offline bundles and record upload."""
