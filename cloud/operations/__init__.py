"""Background consumers that run the warehouse's pure core on the edges' events.

The I/O shell between the event tables (ingest's outbox) and the warehouse domain:
:mod:`cloud.operations.feed` reads the events in transactions of its own and hands them
to the handlers registered per kind; :mod:`cloud.operations.inbound` receives and puts
away pallets from them; :mod:`cloud.operations.scans` applies handheld scans.
:func:`cloud.operations.warehouse.warehouse_registry` assembles the handlers the cloud
runs.
"""
