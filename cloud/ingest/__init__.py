"""MQTT ingest: validate edge messages, write them to the database, ack after commit.

:class:`cloud.ingest.ingester.Ingester` is the process part (MQTT session, retries,
acknowledgements); :mod:`cloud.ingest.classify` and :mod:`cloud.ingest.changes` are
pure; :mod:`cloud.ingest.store` is the one transaction that writes a group of messages.
"""
