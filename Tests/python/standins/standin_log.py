"""Stand-in helper: appends one JSON line per recorded call to $STANDIN_LOG."""
import json
import os


def record(event, **fields):
    path = os.environ.get("STANDIN_LOG")
    if not path:
        return
    fields["event"] = event
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(fields, default=str) + "\n")
