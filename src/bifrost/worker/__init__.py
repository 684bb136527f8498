"""Analysis workers on a message broker: requests in, results out, dead letters aside.

A front like the CLI and the API: it calls the application layer (`analysis/`) and never the
engine. The transport is FastStream's Redis Streams (`bifrost worker --broker redis://…`);
the messages are the event contract of `bifrost/messages.py`.

- `consumer.py`: one request handled: analysed once per request id, the result published, a
  request that keeps failing sent to the dead letters.
- `service.py`: the broker, its subscribers, and running them until told to stop.
"""
