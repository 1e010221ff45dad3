"""The warehouse domain: stock ledger, allocation, receiving, door checks, pick routes.

Pure modules, one concept each, no I/O and no clock of their own (time is passed in).
The database repositories and the API routers compose them; see ``docs/warehouse.md``.
This package imports only the standard library, ``protocols`` and itself
(pinned by ``tests/test_architecture.py``).
"""
