"""A `--static-swift-stdlib` release build of podagent starts and answers /v2/health/live (issue 7).

The binary comes from `make test-static` (swift build -c release --static-swift-stdlib
--scratch-path .build-static); PODAGENT_STATIC_BIN overrides the path. This is the glibc build
made here: the images' musl build needs Swift's static Linux SDK, which the image build downloads
(docs/images.md), so it cannot be made on this offline machine.

Run: python3 -m unittest discover -s Tests/images -p 'test_static*.py' -v
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import unittest
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Relative paths are from the repository root (the tests run the binary from other folders).
BINARY = os.path.join(ROOT, os.environ.get("PODAGENT_STATIC_BIN", os.path.join(ROOT, ".build-static", "release", "podagent")))


class StaticReleaseBuild(unittest.TestCase):
    def setUp(self):
        if not os.access(BINARY, os.X_OK):
            self.fail(f"{BINARY} is not built: run `make test-static` (it builds it first)")

    def test_links_no_swift_runtime_library(self):
        result = subprocess.run(["ldd", BINARY], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("libc.so", result.stdout, "ldd listed the binary's libraries")
        swift_libraries = [line.strip() for line in result.stdout.splitlines() if re.search(r"libswift|libFoundation|libdispatch", line)]
        self.assertEqual(swift_libraries, [], "the Swift runtime is linked in, not loaded from the toolchain")

    def test_starts_and_answers_live_then_stops_on_sigterm(self):
        with tempfile.TemporaryDirectory() as scratch:
            plugins = os.path.join(scratch, "plugins")
            os.mkdir(plugins)
            env = {
                "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
                "HOME": scratch,
                "PODAGENT_SSH": "off",
                # No toolchain on the library path: the binary must carry its runtime.
                "LD_LIBRARY_PATH": "",
            }
            process = subprocess.Popen(
                [BINARY, "run", "--http-host", "127.0.0.1", "--http-port", "0", "--state-dir", os.path.join(scratch, "state"), "--plugins-dir", plugins],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=scratch)
            lines = []
            found = threading.Event()
            port = []

            def read():
                for line in process.stdout:
                    lines.append(line)
                    match = re.search(r"listening on http://[^:]+:(\d+)", line)
                    if match and not port:
                        port.append(int(match.group(1)))
                        found.set()

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            try:
                self.assertTrue(found.wait(60), "no 'listening on' line:\n" + "".join(lines))
                with urllib.request.urlopen(f"http://127.0.0.1:{port[0]}/v2/health/live", timeout=10) as response:
                    self.assertEqual(response.status, 200)
                    self.assertEqual(json.loads(response.read()), {"live": True})
                version = subprocess.run([BINARY, "version"], capture_output=True, text=True, timeout=30, env=env)
                self.assertEqual(version.returncode, 0, version.stderr)
                self.assertTrue(version.stdout.startswith("podagent "), version.stdout)
                health = subprocess.run([BINARY, "health", "--live", "--url", f"http://127.0.0.1:{port[0]}"], capture_output=True, text=True, timeout=30, env=env)
                self.assertEqual(health.returncode, 0, health.stdout + health.stderr)
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    code = process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    code = process.wait(10)
                reader.join(5)
                process.stdout.close()
            self.assertEqual(code, 0, "".join(lines))


if __name__ == "__main__":
    unittest.main()
