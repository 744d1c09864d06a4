"""A WSGI app for the gunicorn --preload test: the client is built in the master, before fork."""

import os

import tracklane

client = tracklane.Client(
    [{"type": "segment", "write_key": "test-segment-key", "base_url": os.environ["COLLECTOR_URL"] + "/segment"}],
    flush_interval_ms=50,
)
# Queued in the master before the fork: must be sent once (by the master), never by workers.
client.track("master_started", anonymous_id="master")


def app(environ, start_response):  # type: ignore[no-untyped-def]
    client.track("hit", {"path": environ.get("PATH_INFO"), "pid": os.getpid()}, anonymous_id="visitor")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
