"""`podagent run` as a child process, waited for until it prints its "listening on" line.

Shared by the Python suites that start a real podagent (Tests/tritonclient, Tests/images/test_static_build.py);
each puts this folder on sys.path itself, so any interpreter (the system's, the tritonclient venv) finds it.
"""

import re
import signal
import subprocess
import threading

LISTENING = re.compile(r"listening on http://[^:\s]+:(\d+)")


class ListeningAgent:
    """Starts `argv` (a `podagent run` command line on port 0) and waits for its "listening on" line.

    Its output (stdout and stderr together) is read to the end in a thread, so the agent never blocks on
    a full pipe; `lines` holds what it printed so far. Raises AssertionError with that output when the
    agent exits or `timeout` seconds pass before the line comes.
    """

    def __init__(self, argv, env, cwd=None, timeout=120):
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
        self.lines = []
        self.port = None
        settled = threading.Event()

        def read():
            for line in self.process.stdout:
                self.lines.append(line)
                match = LISTENING.search(line)
                if match and self.port is None:
                    self.port = int(match.group(1))
                    settled.set()
            settled.set()  # end of output: the agent is gone

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not settled.wait(timeout) or self.port is None:
            self.stop()
            raise AssertionError("podagent did not start (no 'listening on' line):\n" + self.log)

    @property
    def log(self):
        return "".join(self.lines)

    @property
    def url(self):
        """host:port, as tritonclient takes it."""
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(10)
        self.reader.join(5)
        self.process.stdout.close()
        return code
