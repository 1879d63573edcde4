import CurlClient
import Foundation
import Testing
import TestProcesses

/// libcurl through CurlClient against real HTTP and HTTPS servers on loopback (Python's http.server,
/// certificates made by the real openssl).
@Suite("HTTPClient (libcurl) against real HTTP(S) servers", .serialized)
struct HTTPClientTests {
    /// A running echo_server.py; `cert` makes it HTTPS.
    final class EchoServer {
        let pid: pid_t
        let url: String

        init(dir: String, cert: (cert: String, key: String)? = nil) throws {
            let script = Shell.repoRoot.appendingPathComponent("Tests/CurlClientTests/Support/echo_server.py").path
            let log = "\(dir)/echo-\(UUID().uuidString.prefix(6)).log"
            pid = try Shell.spawn(["/usr/bin/python3", script] + (cert.map { [$0.cert, $0.key] } ?? []), stdout: log, stderr: log)
            let marker = "listening on "
            guard let line = Shell.waitForLine(in: log, containing: marker), let range = line.range(of: marker) else {
                Shell.stop(pid)
                throw FixtureError("the echo server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            url = String(line[range.upperBound...])
        }

        func stop() { Shell.stop(pid) }
    }

    /// A self-signed certificate made by the real `openssl` for `altName`.
    func certificate(_ dir: String, _ name: String, altName: String) throws -> (cert: String, key: String) {
        let cert = "\(dir)/\(name).pem", key = "\(dir)/\(name)-key.pem"
        let made = try Shell.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                  "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=podagent-test",
                                  "-addext", "subjectAltName=\(altName)"])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        return (cert, key)
    }

    func echoed(_ response: HTTPResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
    }

    @Test func methodsHeadersAndBodiesBothWays() throws {
        let dir = try Shell.temporaryDirectory("curl-http")
        let server = try EchoServer(dir: dir)
        defer { server.stop() }
        let client = HTTPClient(timeoutSeconds: 10)
        let get = try client.get(server.url + "/path?q=1", headers: ["Authorization: Bearer abc", "Accept: application/json"])
        #expect(get.status == 200 && get.headers["x-echo"] == "yes" && get.headers["content-type"] == "application/json")
        let seen = try echoed(get)
        #expect(seen["method"] as? String == "GET" && seen["path"] as? String == "/path?q=1")
        #expect((seen["headers"] as? [String: String])?["Authorization"] == "Bearer abc")
        let body = Data(#"{"inputs":{"sample_id":"s1"}}"#.utf8)
        let post = try client.send(method: "POST", url: server.url + "/models/Demo/infer", headers: ["Content-Type: application/json"], body: body)
        let posted = try echoed(post)
        #expect(posted["method"] as? String == "POST" && posted["body"] as? String == String(decoding: body, as: UTF8.self))
        #expect((posted["headers"] as? [String: String])?["Expect"] == nil, "no 100-continue round trip")
        #expect(try echoed(try client.send(method: "DELETE", url: server.url + "/jobs/1"))["method"] as? String == "DELETE")
        // Error statuses are answers, not errors; redirects are not followed.
        let failed = try client.get(server.url + "/status/503")
        #expect(failed.status == 503 && String(decoding: failed.body, as: UTF8.self).contains("asked for 503"))
        #expect(try client.get(server.url + "/redirect").status == 302)
    }

    @Test func httpsIsVerifiedAgainstTheSystemsOrTheGivenCAs() throws {
        let dir = try Shell.temporaryDirectory("curl-tls")
        let good = try certificate(dir, "loopback", altName: "IP:127.0.0.1")
        let other = try certificate(dir, "other", altName: "DNS:other.invalid")
        let server = try EchoServer(dir: dir, cert: good)
        defer { server.stop() }
        let misnamed = try EchoServer(dir: dir, cert: other)
        defer { misnamed.stop() }
        #expect(server.url.hasPrefix("https://"))
        let untrusted = #expect(throws: CurlError.self) { _ = try HTTPClient(timeoutSeconds: 10).get(server.url + "/echo") }
        #expect(untrusted?.kind == .transport && untrusted?.message.localizedCaseInsensitiveContains("certificate") == true, "\(String(describing: untrusted))")
        let trusted = try HTTPClient(timeoutSeconds: 10, caFile: good.cert).get(server.url + "/echo")
        #expect(trusted.status == 200 && trusted.headers["x-echo"] == "yes")
        // The right CA but a certificate for another name: refused all the same.
        let wrongName = #expect(throws: CurlError.self) { _ = try HTTPClient(timeoutSeconds: 10, caFile: other.cert).get(misnamed.url + "/echo") }
        #expect(wrongName?.message.contains("127.0.0.1") == true, "\(String(describing: wrongName))")
        let unreadable = #expect(throws: CurlError.self) { _ = try HTTPClient(caFile: "\(dir)/none.pem").get(server.url) }
        #expect(unreadable?.kind == .setup && unreadable?.message.contains("none.pem") == true)
    }

    @Test func sizeLimitTimeoutAndNothingListening() throws {
        let dir = try Shell.temporaryDirectory("curl-limits")
        let server = try EchoServer(dir: dir)
        defer { server.stop() }
        let capped = HTTPClient(timeoutSeconds: 10, maxBodyBytes: 1000)
        #expect(try capped.get(server.url + "/big/1000").body.count == 1000)
        let large = #expect(throws: CurlError.self) { _ = try capped.get(server.url + "/big/1001") }
        #expect(large?.kind == .transport && large?.message.contains("larger than 1000 bytes") == true)
        let slow = #expect(throws: CurlError.self) { _ = try HTTPClient(timeoutSeconds: 1).get(server.url + "/slow") }
        #expect(slow?.kind == .timeout, "\(String(describing: slow))")
        let port = Shell.freePort()
        let refused = #expect(throws: CurlError.self) { _ = try HTTPClient(timeoutSeconds: 5).get("http://127.0.0.1:\(port)/") }
        #expect(refused?.kind == .transport && refused?.message.contains("127.0.0.1") == true)
        let wrongScheme = #expect(throws: CurlError.self) { _ = try HTTPClient(timeoutSeconds: 5).get("file:///etc/passwd") }
        #expect(wrongScheme?.kind == .transport)
        #expect(HTTPClient.libraryVersion.hasPrefix("libcurl/"))
    }
}
