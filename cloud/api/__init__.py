"""The cloud's HTTP side: REST API, live WebSocket and dashboards (FastAPI).

``create_app(settings)`` in :mod:`cloud.api.app`; ``CloudServer`` in
:mod:`cloud.api.server` runs it under uvicorn.
"""
