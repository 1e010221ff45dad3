"""Live deltas for WebSocket clients: :class:`cloud.live.hub.LiveHub`."""
