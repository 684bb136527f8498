"""Analysis workers on a message broker: requests in, results out, dead letters aside.

A front like the CLI and the API: it calls the application layer (`analysis/`) and never the
engine. The brokers are `bifrost/brokers/`; the messages, the event contract of
`bifrost/messages.py`.

- `consumer.py`: one request handled: analysed once per request id, answered, or (when it
  keeps failing) set aside as a dead letter.
- `service.py`: a worker: a transport, the handler, and running them until told to stop.
- `metrics.py`, `health.py`: what a worker tells Prometheus and probes (`--port`).
"""
