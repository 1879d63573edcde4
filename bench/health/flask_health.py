"""The health endpoint people write today: a minimal Flask app (the baseline for bench/health)."""
import sys

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/v2/health/live")
def live():
    return jsonify(live=True)


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
