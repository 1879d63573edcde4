@testable import Controller
import Foundation
import Testing
import TestProcesses

/// Pods that print too much, never end a line, or try to drive the operator's terminal (issue 13, item 10).
/// Everything goes through real sshd sessions; no time is asserted: the work done (bytes scanned), the memory
/// held (bytes pending, the process's peak RSS) and the bytes printed are.
@Suite("podctl and hostile pod output")
struct HostileOutputTests {
    let fleet = SSHDFleet.shared

    /// A remote Python one-liner printing `size` bytes of tqdm-style `\r` redraws (no newline until the end).
    private func progressBar(bytes size: Int) -> String {
        """
        python3 -c 'import sys
        o = sys.stdout.buffer; n = \(size); t = 0; i = 0
        while t < n:
            s = b"\\r%6.2f%%|" % (100.0 * t / n) + b"#" * 60 + b"| %d" % i
            o.write(s); t += len(s); i += 1
        o.write(b"\\nlast %d\\n" % (i - 1))'
        """
    }

    private func sinkFile(_ dir: String, _ name: String) -> (OutputWriter, String) {
        let path = "\(dir)/\(name)"
        return (OutputWriter(fd: open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)), path)
    }

    @Test func progressBarStreamIsScannedOnceWithBoundedMemory() throws {
        let dir = try Shell.temporaryDirectory("cr-stream")
        let (out, path) = sinkFile(dir, "out")
        defer { close(out.fd) }
        let (err, _) = sinkFile(dir, "err")
        defer { close(err.fd) }
        let pod = fleet.pods[11]
        let printer = LinePrinter(out: out, err: err)
        let size = 8_000_000
        let results = ExecRunner.run(pods: [pod], request: ExecRequest(command: progressBar(bytes: size), keepOutput: false),
                                     settings: fleet.settings(), sink: printer)
        #expect(results.first?.status == .ok, "\(results.first?.errorMessage ?? "")")
        let statistics = try #require(printer.statistics(pod: pod.name))
        // Linear: every byte is looked at once (the old printer rescanned its whole buffer per chunk).
        #expect(statistics.scanned >= size && statistics.scanned < size + 200, "scanned \(statistics.scanned)")
        // Bounded: each redraw ends a line, so nothing piles up.
        #expect(statistics.peakPending < 64 * 1024, "held \(statistics.peakPending) bytes")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count > 100_000)
        #expect(lines.allSatisfy { $0.hasPrefix("\(pod.name): ") && !$0.contains("\r") }, "a line lost its prefix")
        #expect(lines.first == "\(pod.name):   0.00%|\(String(repeating: "#", count: 60))| 0")
        let last = try #require(lines.last)
        let counter = try #require(lines.dropLast().last?.split(separator: " ").last)
        #expect(last == "\(pod.name): last \(counter)")
    }

    @Test func endlessLineIsPrintedInPrefixedPieces() throws {
        let dir = try Shell.temporaryDirectory("long-line")
        let (out, path) = sinkFile(dir, "out")
        defer { close(out.fd) }
        let pod = fleet.pods[12]
        let printer = LinePrinter(out: out, err: OutputWriter(fd: out.fd))
        let size = 16 << 20
        let command = "python3 -c 'import sys; sys.stdout.buffer.write(b\"ab\" * \(size / 2) + b\"\\nend\\n\")'"
        let results = ExecRunner.run(pods: [pod], request: ExecRequest(command: command, keepOutput: false),
                                     settings: fleet.settings(), sink: printer)
        #expect(results.first?.status == .ok, "\(results.first?.errorMessage ?? "")")
        let statistics = try #require(printer.statistics(pod: pod.name))
        #expect(statistics.scanned == size + 5)
        // The partial line never holds more than one piece plus one arriving chunk (libssh hands over at most 64 KiB).
        #expect(statistics.peakPending <= 128 * 1024, "held \(statistics.peakPending) bytes")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let prefix = "\(pod.name): "
        #expect(lines.allSatisfy { $0.hasPrefix(prefix) })
        #expect(lines.last == "\(prefix)end")
        let pieces = lines.dropLast()
        #expect(pieces.count == size / (64 * 1024))
        #expect(pieces.allSatisfy { $0.count == prefix.count + 64 * 1024 })
        #expect(pieces.map { $0.dropFirst(prefix.count) }.joined() == String(repeating: "ab", count: size / 2))
    }

    /// An inventory of one pod, for the tests that run the podctl binary.
    private func inventory(_ pod: Pod, in dir: String) throws -> String {
        let path = "\(dir)/fleet.yaml"
        try "pods:\n  - {name: \(pod.name), host: \(pod.host), port: \(pod.port), user: root, identity: \(fleet.clientKey)}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func gatherAndJSONKeepAtMostTheCapAndSaySo() throws {
        let dir = try Shell.temporaryDirectory("cap")
        let pod = fleet.pods[13]
        let fleetFile = try inventory(pod, in: dir)
        let size = 100_000_000
        // Head "HEAD", 100 MB of x, tail "TAIL": the cap keeps both ends and drops the middle.
        let command = "printf HEAD; head -c \(size) /dev/zero | tr '\\000' x; printf 'TAIL\\n'"
        func podctl(_ mode: String, _ extra: [String] = []) throws -> (Shell.Result, Int) {
            let result = try Shell.run(["/usr/bin/time", "-f", "maxrss=%M", Shell.binary("podctl"), "exec", mode, "-i", fleetFile,
                                        "--known-hosts", fleet.knownHosts] + extra + ["--", command],
                                       environment: Shell.environment(), timeout: 300)
            let rss = result.stderr.split(separator: "\n").last { $0.hasPrefix("maxrss=") }.flatMap { Int($0.dropFirst(7)) } ?? -1
            return (result, rss)
        }
        let (gathered, gatherRSS) = try podctl("-b")
        #expect(gathered.status == 0, "\(gathered.stderr.suffix(500))")
        let total = size + 9
        let dropped = total - (1 << 20)
        #expect(gathered.stdout.hasPrefix("---------------\n\(pod.name) (exit 0)\n---------------\nHEADxxx"))
        #expect(gathered.stdout.contains("\n[... podctl: \(dropped) bytes of stdout dropped here (--max-output 1M keeps the first and last 512K) ...]\nxxx"))
        #expect(gathered.stdout.hasSuffix("xxxTAIL\n"))
        #expect(gathered.stdout.utf8.count < (1 << 20) + 1000)
        #expect(gathered.stderr.contains("podctl: output cut to --max-output 1M per stream: \(pod.name)"), "\(gathered.stderr)")
        // Memory: the whole output held once was 327 MB; the cap keeps podctl far below the output's size.
        #expect(gatherRSS > 0 && gatherRSS < 100_000, "podctl -b peaked at \(gatherRSS) KiB")

        let (json, jsonRSS) = try podctl("--json", ["--max-output", "64K"])
        #expect(json.status == 0, "\(json.stderr.suffix(500))")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(record["truncated"] as? Bool == true)
        #expect(record["stdout_bytes"] as? Int == total)
        #expect(record["stdout_dropped"] as? Int == total - 65_536)
        #expect(record["stderr_dropped"] as? Int == 0)
        let kept = try #require(record["stdout"] as? String)
        #expect(kept.utf8.count == 65_536 && kept.hasPrefix("HEADxx") && kept.hasSuffix("xxTAIL\n"))
        #expect(jsonRSS > 0 && jsonRSS < 100_000, "podctl --json peaked at \(jsonRSS) KiB")

        let (whole, _) = try podctl("--json", ["--max-output", "none"])
        let all = try #require(try JSONSerialization.jsonObject(with: Data(whole.stdout.utf8)) as? [String: Any])
        #expect(all["truncated"] as? Bool == false && (all["stdout"] as? String)?.utf8.count == total)
    }

    /// What a hostile pod prints: a title and clipboard write (OSC 0, OSC 52), a carriage return and erase
    /// (CSI K) that would overwrite the prefix with a forged one, a backspace, a one-byte CSI (U+009B),
    /// a bell, and a colour that is never reset.
    private let hostile = #"printf '\033]0;owned\007\033]52;c;ZXZpbA==\007real\r\033[Kpod01: forged\nb\bx \302\2332J\a\033[31mred\n'"#

    @Test func escapesAreShownNotObeyedOnATerminalAndInAPipe() throws {
        let dir = try Shell.temporaryDirectory("escapes")
        let pod = fleet.pods[14]
        let fleetFile = try inventory(pod, in: dir)
        let base = [Shell.binary("podctl"), "exec", "-i", fleetFile, "--known-hosts", fleet.knownHosts]
        let expectedLines = [
            "\(pod.name): ^[]0;owned^G^[]52;c;ZXZpbA==^Greal",
            "\(pod.name): ^[[Kpod01: forged",
            "\(pod.name): b^Hx M-^[2J^G\u{1B}[31mred\u{1B}[0m",
        ]
        // `script` gives podctl a real terminal; the terminal driver turns each \n into \r\n.
        let quoted = (base + ["--", hostile]).map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }.joined(separator: " ")
        let terminal = try Shell.run(["/usr/bin/script", "-qfec", quoted, "/dev/null"], environment: Shell.environment(), timeout: 90)
        #expect(terminal.status == 0, "\(terminal.stdout)")
        let rows = terminal.stdout.components(separatedBy: "\r\n").filter { $0.hasPrefix(pod.name) }
        #expect(rows == expectedLines, "\(rows)")
        #expect(!terminal.stdout.contains("\u{1B}]") && !terminal.stdout.contains("\u{9B}") && !terminal.stdout.contains("\u{07}"))

        let piped = try Shell.run(base + ["--", hostile], environment: Shell.environment(), timeout: 60)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == expectedLines.joined(separator: "\n") + "\n")

        let gathered = try Shell.run(base + ["-b", "--", hostile], environment: Shell.environment(), timeout: 60)
        #expect(gathered.stdout.hasSuffix(expectedLines.map { String($0.dropFirst(pod.name.count + 2)) }.joined(separator: "\n") + "\n"),
                "\(gathered.stdout)")

        // --raw: the bytes as sent (lines split at \n only).
        let raw = try Shell.run(base + ["--raw", "--", hostile], environment: Shell.environment(), timeout: 60)
        #expect(raw.stdout == "\(pod.name): \u{1B}]0;owned\u{07}\u{1B}]52;c;ZXZpbA==\u{07}real\r\u{1B}[Kpod01: forged\n"
                + "\(pod.name): b\u{08}x \u{9B}2J\u{07}\u{1B}[31mred\n", "\(raw.stdout.debugDescription)")

        // JSON: every control character escaped, the C1 ones included.
        let json = try Shell.run(base + ["--json", "--", hostile], environment: Shell.environment(), timeout: 60)
        #expect(json.stdout.contains(#"\u009b2J"#) && !json.stdout.contains("\u{9B}") && !json.stdout.contains("\u{1B}"))
        let record = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((record["stdout"] as? String)?.contains("\u{1B}]52;c;ZXZpbA==") == true)
    }
}

/// The pieces behind the printer, on byte strings no pod could deliver in one order.
@Suite("line splitting, control characters and the output cap")
struct OutputPiecesTests {
    private func split(_ chunks: [String], maxPending: Int = 64 * 1024, splitOnCR: Bool = true) -> [String] {
        var splitter = LineSplitter(maxPending: maxPending, splitOnCarriageReturn: splitOnCR)
        var lines: [String] = []
        for chunk in chunks { splitter.feed(Array(chunk.utf8)) { lines.append(String(decoding: $0, as: UTF8.self)) } }
        splitter.finish { lines.append(String(decoding: $0, as: UTF8.self)) }
        return lines
    }

    @Test func lineEndsAcrossChunkBoundaries() {
        #expect(split(["a\r", "\nb\n"]) == ["a", "b"])
        #expect(split(["a\r\n\r\nb"]) == ["a", "", "b"])
        #expect(split(["\rone\rtwo\n"]) == ["one", "two"])
        #expect(split(["par", "tial", "\nrest"]) == ["partial", "rest"])
        #expect(split(["\n\n"]) == ["", ""])
        #expect(split(["a\rb\n"], splitOnCR: false) == ["a\rb"])
    }

    @Test func piecesNeverSplitACharacter() {
        // 'é' is two bytes: a 5-byte piece that would cut it ends before it instead.
        #expect(split(["abcdé", "fgh"], maxPending: 5) == ["abcd", "éfgh"])
        #expect(split(["abcdefghij"], maxPending: 4) == ["abcd", "efgh", "ij"])
    }

    @Test func filterShowsControlsButKeepsColours() {
        func safe(_ text: String) -> String {
            var out: [UInt8] = []
            OutputFilter.safe.append(Array(text.utf8)[...], to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(safe("plain\ttab") == "plain\ttab")
        #expect(safe("\u{1B}[1;31mbold\u{1B}[0m") == "\u{1B}[1;31mbold\u{1B}[0m\u{1B}[0m")
        #expect(safe("\u{1B}[2J\u{1B}[1;1H") == "^[[2J^[[1;1H")
        #expect(safe("\u{1B}]8;;http://x\u{07}") == "^[]8;;http://x^G")
        #expect(safe("\u{9B}\u{80}\u{7F}\u{00}") == "M-^[M-^@^?^@")
        #expect(safe("\u{1B}[31") == "^[[31")
        #expect(safe("été ✓") == "été ✓")
    }

    @Test func capKeepsFirstAndLastHalfWhateverTheChunking() {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for chunk in [1, 3, 100, 999, 4096, 10_000] {
            var capped = CappedOutput(limit: 1000)
            var offset = 0
            while offset < data.count {
                capped.append(Array(data[offset..<min(offset + chunk, data.count)]))
                offset += chunk
            }
            let (bytes, cut) = capped.result()
            #expect(bytes == Array(data.prefix(500) + data.suffix(500)), "chunk \(chunk)")
            #expect(cut == OutputCut(at: 500, dropped: 9000), "chunk \(chunk)")
        }
        var small = CappedOutput(limit: 1000)
        small.append(Array(data.prefix(700)))
        #expect(small.result().bytes == Array(data.prefix(700)) && small.result().cut == nil)
        var none = CappedOutput(limit: nil)
        none.append(data)
        #expect(none.result().bytes == data && none.result().cut == nil)
    }

    @Test func sizesParse() throws {
        #expect(try ByteSize.parse("512K") == 524_288)
        #expect(try ByteSize.parse("1m") == 1 << 20)
        #expect(try ByteSize.parse("100") == 100)
        #expect(try ByteSize.parse("none") == nil)
        #expect(throws: ControllerError.self) { try ByteSize.parse("12 MB") }
        #expect(throws: ControllerError.self) { try ByteSize.parse("-1") }
        #expect(ByteSize.format(1 << 20) == "1M" && ByteSize.format(1536) == "1536")
    }
}
