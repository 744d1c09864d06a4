"""A Flask app behind tracklane.wsgi.TracklaneMiddleware."""

import tracklane
import tracklane.wsgi
from flask import Flask, jsonify, request


def make_app(client: tracklane.Client) -> Flask:
    app = Flask(__name__)
    app.wsgi_app = tracklane.wsgi.TracklaneMiddleware(app.wsgi_app, client)  # type: ignore[method-assign]

    @app.route("/lead")
    def lead():  # type: ignore[no-untyped-def]
        tracker = tracklane.wsgi.get_tracker(request.environ)
        result = tracker.track("lead_created", {"plan": "pro"})
        return jsonify(visitor=tracker.anonymous_id, status=result.status, context=tracker.context)

    return app
