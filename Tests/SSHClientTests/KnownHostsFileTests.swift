import Foundation
import SSHClient
import Testing
import TestProcesses

/// known_hosts reading and pinning on real files, against what OpenSSH's own tools write and read.
@Suite("known_hosts: lookup by name, all-or-nothing pins, concurrent writers, a full disk")
struct KnownHostsFileTests {
    func key(_ index: Int) throws -> SSHPublicKey { try HostKeys.shared.key(index) }

    @Test func hashedEntriesWrittenByOpenSSHAreFound() throws {
        let dir = try Shell.temporaryDirectory("kh-hashed")
        let file = "\(dir)/known_hosts"
        let key = try key(0)
        try "gpu-1 \(key)\n[10.0.0.1]:2222 \(key)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let hashed = try Shell.run(["/usr/bin/ssh-keygen", "-H", "-f", file])
        #expect(hashed.status == 0, "\(hashed.stderr)")
        #expect(try !String(contentsOfFile: file, encoding: .utf8).contains("gpu-1"))
        let known = KnownHostsFile(path: file)
        #expect(try known.keys(for: "gpu-1") == [key])
        #expect(try known.keys(for: "[10.0.0.1]:2222") == [key])
        #expect(try known.keys(for: "gpu-2").isEmpty)
        #expect(try known.verify(key, names: ["gpu-1"]) == .known(name: "gpu-1"))
        #expect(try known.verify(try self.key(1), names: ["gpu-1"]) == .changed(name: "gpu-1", pinned: [key]))
        #expect(try known.pin([key], names: ["gpu-1"]) == .pinned(added: [], alreadyPinned: 1))
    }

    @Test func pinIsAllOrNothingAndKeepsAFileWithoutTrailingNewline() throws {
        let dir = try Shell.temporaryDirectory("kh-pin")
        let file = "\(dir)/known_hosts"
        let (a, b) = (try key(0), try key(1))
        try "other \(a)".write(toFile: file, atomically: true, encoding: .utf8)
        let known = KnownHostsFile(path: file)
        #expect(try known.pin([a], names: ["gpu-1", "[127.0.0.1]:2200"]) == .pinned(added: ["gpu-1 \(a)", "[127.0.0.1]:2200 \(a)"], alreadyPinned: 0))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "other \(a)\ngpu-1 \(a)\n[127.0.0.1]:2200 \(a)\n")
        let before = try String(contentsOfFile: file, encoding: .utf8)
        // b differs from the pinned a under [127.0.0.1]:2200: nothing at all is written, not even for new names.
        let refused = try known.pin([b], names: ["gpu-2", "[127.0.0.1]:2200"])
        #expect(refused == .refused([KnownHostsFile.Conflict(name: "[127.0.0.1]:2200", pinned: a, offered: b)]))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == before)
        #expect(try Shell.run(["/usr/bin/ssh-keygen", "-F", "[127.0.0.1]:2200", "-f", file]).status == 0)
    }

    @Test func concurrentPinsNeverInterleave() throws {
        let dir = try Shell.temporaryDirectory("kh-concurrent")
        let file = "\(dir)/known_hosts"
        let keys = try (0..<4).map { try key($0) }
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            _ = try? KnownHostsFile(path: file).pin(keys, names: ["pod\(index)", "[127.0.0.1]:\(3000 + index)"])
        }
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 64 * 8 + 1 && lines.last == "")
        for index in 0..<64 {
            #expect(try KnownHostsFile(path: file).keys(for: "pod\(index)") == keys)
        }
        let listed = try Shell.run(["/usr/bin/ssh-keygen", "-l", "-f", file])
        #expect(listed.status == 0 && listed.stdout.split(separator: "\n").count == 64 * 8)
    }

    @Test func aFullDiskLeavesTheFileAsItWas() throws {
        let dir = try Shell.temporaryDirectory("kh-full")
        let mount = try Shell.run(["/usr/bin/mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", dir])
        try #require(mount.status == 0, "mount: \(mount.stderr)")
        defer { _ = try? Shell.run(["/usr/bin/umount", dir]) }
        let file = "\(dir)/known_hosts"
        let a = try key(0)
        // Fill the two pages to within 120 bytes: the pin's first bytes fit, the rest does not.
        var text = "other \(a)\n"
        while text.utf8.count < 8192 - 120 { text += "# " + String(repeating: "x", count: 77) + "\n" }
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        let error = #expect(throws: SSHError.self) { try KnownHostsFile(path: file).pin([a], names: ["gpu-1", "[127.0.0.1]:2222"]) }
        #expect(error?.message.contains("nothing was added") == true, "\(String(describing: error))")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == text)
    }
}
