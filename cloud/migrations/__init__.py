"""Versioned SQL migrations of the cloud database, applied by :mod:`cloud.db.migrate`.

``NNNN_name.sql`` runs everywhere; a pair ``NNNN_name.timescale.sql`` /
``NNNN_name.plain.sql`` is a step with one variant for PostgreSQL with the
TimescaleDB extension and one for plain PostgreSQL, which must leave the same
columns behind so every query works on both.
"""
