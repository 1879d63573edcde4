import Foundation
import PodAgentExtras
import Synchronization
import Testing

/// The small pieces that replace full Foundation in podagent (issue 17) answer as Foundation does:
/// each is compared with the Foundation API it replaces, on the same inputs.
@Suite("Foundation replacements")
struct FoundationReplacementTests {
    // The second line: strings the ASCII shortcut answers (printable ASCII at both ends) and their neighbours.
    static let texts = ["", "  ", " a b ", "\tx\n", "\r\nline\r\n", "\u{00A0}nbsp\u{2003}", "é ", " \n ", "a", "\n\nx y\n",
                        "token-123", "x y", "~!", "a\u{0301}", "\u{0600}a", "\u{00A0}a", "a\u{2003}", "a\u{7F}", "\u{1F}a"]

    @Test("trimmingSpace answers as trimmingCharacters(in: .whitespaces / .whitespacesAndNewlines)", arguments: texts)
    func trimming(text: String) {
        #expect(text.trimmingSpace() == text.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(text.trimmingSpace(newlines: false) == text.trimmingCharacters(in: .whitespaces))
        #expect("\"'-x-'\"".trimming(charactersIn: "-\"' ") == "\"'-x-'\"".trimmingCharacters(in: CharacterSet(charactersIn: "-\"' ")))
    }

    @Test("replacingLiteral answers as replacingOccurrences, also inside \\r\\n", arguments: [
        ("a\r\nb\r\n", "\r", ""), ("it's", "'", "'\\''"),
        ("aaa", "aa", "b"), ("", "x", "y"), ("x", "", "y"), ("1.2.3", ".", ""), ("日本語", "本", "-"),
    ])
    func replacing(text: String, target: String, replacement: String) {
        #expect(text.replacingLiteral(target, with: replacement) == text.replacingOccurrences(of: target, with: replacement))
    }

    @Test("replacingLiteral finds a secret followed by a combining mark (the redactor's use), where Foundation does not")
    func literalBeforeCombiningMark() {
        #expect("secret\u{301} and secret".replacingLiteral("secret", with: "[redacted]") == "[redacted]\u{301} and [redacted]")
    }

    @Test("decimalText answers as String(format: \"%.Nf\")", arguments: [0.0, 0.05, 0.15, 1.5, 2.5, 1286.4999, -0.05, 1e20, 123.456, .infinity, .nan])
    func decimals(value: Double) {
        for digits in [0, 1, 3] {
            #expect(decimalText(value, decimals: digits) == String(format: "%.\(digits)f", value))
        }
    }

    @Test("PathNames answers as NSString's path functions", arguments: ["/a/b.c", "/a/b/", "/b", "/", "a/b/c.tar.gz", "./x", "/a//b", ".hidden", "dir.d/file"])
    func paths(path: String) {
        #expect(PathNames.lastComponent(path) == (path as NSString).lastPathComponent)
        #expect(PathNames.deletingLastComponent(path) == (path as NSString).deletingLastPathComponent)
        let name = (path as NSString).lastPathComponent
        #expect(PathNames.deletingExtension(name) == (name as NSString).deletingPathExtension)
    }

    @Test("a bare name has no folder (Foundation's deletingLastPathComponent traps on it here)")
    func bareName() {
        #expect(PathNames.deletingLastComponent("b") == "" && PathNames.lastComponent("b") == "b")
    }

    @Test("Timestamp writes what ISO8601DateFormatter writes, in UTC")
    func timestamps() {
        let date = Date(timeIntervalSince1970: 1_764_329_553.25)
        let full = ISO8601DateFormatter()
        #expect(Timestamp.seconds(date) == full.string(from: date))
        full.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect(Timestamp.withFraction(date) == full.string(from: date))
        #expect(Timestamp.compact(date) == "20251128T113233Z")
    }

    @Test("errorText names the errno of a file error")
    func errors() {
        #expect(throws: (any Error).self) { try FileManager.default.contentsOfDirectory(atPath: "/nonexistent-podagent-test") }
        do {
            _ = try FileManager.default.contentsOfDirectory(atPath: "/nonexistent-podagent-test")
        } catch {
            #expect(errorText(error) == "No such file or directory")
        }
        #expect(errorText(POSIXError(.EACCES)) == "Permission denied")
    }

    @Test("NativeThread runs its body on a thread of its own, named as asked")
    func thread() async {
        let seen = Mutex<String?>(nil)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            NativeThread.start(name: "podagent-test-thread-name") {
                let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                seen.withLock { $0 = name.trimmingCharacters(in: .newlines) }
                done.resume()
            }
        }
        #expect(seen.withLock { $0 } == "podagent-test-t")
    }
}
