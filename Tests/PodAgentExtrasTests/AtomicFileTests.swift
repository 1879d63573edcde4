import Foundation
import PodAgentExtras
import Testing

/// The one atomic writer, against the real file system: a real tmpfs that fills up, real owners and modes.
@Suite("AtomicFile and StagedFile", .serialized)
struct AtomicFileTests {
    let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "atomic-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func entries(_ path: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    @Test func replacesTheWholeFileAndLeavesNoTemporaryFile() throws {
        let path = "\(dir)/out.json"
        try AtomicFile.write("old", to: path)
        try AtomicFile.write(Array("new content".utf8), to: path)
        #expect(FileManager.default.contents(atPath: path) == Data("new content".utf8))
        #expect(try entries(dir) == ["out.json"])
        try AtomicFile.write("", to: path)
        #expect(FileManager.default.contents(atPath: path) == Data())
    }

    @Test func aMissingFolderIsAnErrorNamingThePathAndTheStep() throws {
        let failure = #expect(throws: AtomicFile.Failure.self) { try AtomicFile.write("x", to: "\(dir)/missing/out.json") }
        #expect(failure?.errno == ENOENT && failure?.step.hasPrefix("create ") == true)
        #expect(failure?.message.hasPrefix("\(dir)/missing/out.json: cannot write: create ") == true, "\(failure?.message ?? "")")
        #expect(failure?.isDiskFull == false && failure?.programExit == .failure)
    }

    @Test func theModeIsExactWhateverTheUmask() throws {
        let old = umask(0o077)
        defer { umask(old) }
        let path = "\(dir)/shared"
        try AtomicFile.write("x", to: path, mode: 0o644)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o644)
        try AtomicFile.write("y", to: path, mode: 0o600)
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test func rootKeepsTheReplacedFilesOwnerUnlessGivenOne() throws {
        try #require(geteuid() == 0, "the tests run as root (CI does too)")
        let path = "\(dir)/users-file"
        try AtomicFile.write("mine", to: path)
        #expect(chown(path, 4321, 4322) == 0)
        try AtomicFile.write("replaced by root", to: path)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_uid == 4321 && info.st_gid == 4322)
        try AtomicFile.write("root's now", to: path, owner: (0, 0))
        #expect(stat(path, &info) == 0 && info.st_uid == 0 && info.st_gid == 0)
    }

    @Test func aFullDiskLeavesTheOldFileAndNoTemporaryFile() throws {
        try #require(geteuid() == 0, "mounting a tmpfs needs root (the tests run as root, CI does too)")
        let mountPoint = "\(dir)/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(mount("tmpfs", mountPoint, "tmpfs", 0, "size=64k,mode=0755") == 0, "mount: \(String(cString: strerror(errno)))")
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let path = "\(mountPoint)/state.json"
        try AtomicFile.write("the state before", to: path)
        let failure = #expect(throws: AtomicFile.Failure.self) {
            try AtomicFile.write([UInt8](repeating: 0x41, count: 256 * 1024), to: path)
        }
        #expect(failure?.isDiskFull == true && failure?.step == "write", "\(failure?.message ?? "")")
        #expect(FileManager.default.contents(atPath: path) == Data("the state before".utf8))
        #expect(try entries(mountPoint) == ["state.json"])
        // Once there is room again, the same write succeeds.
        try AtomicFile.write([UInt8](repeating: 0x42, count: 16 * 1024), to: path)
        #expect(FileManager.default.contents(atPath: path)?.count == 16 * 1024)
    }

    @Test func aStagedFileDroppedWithoutACommitChangesNothing() throws {
        let path = "\(dir)/download"
        try AtomicFile.write("complete", to: path)
        var temporary = ""
        do {
            let staged = try StagedFile(replacing: path)
            temporary = staged.temporaryPath
            try Array("half of".utf8).withUnsafeBytes { try staged.write($0) }
            #expect(FileManager.default.fileExists(atPath: temporary))
        }
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(FileManager.default.contents(atPath: path) == Data("complete".utf8))
        let staged = try StagedFile(replacing: path, mode: 0o600)
        try Array("new ".utf8).withUnsafeBytes { try staged.write($0) }
        try Array("whole".utf8).withUnsafeBytes { try staged.write($0) }
        try staged.commit()
        #expect(FileManager.default.contents(atPath: path) == Data("new whole".utf8))
        #expect(try entries(dir) == ["download"])
    }

    @Test func ensureDirectoryCreatesParentsAndRefusesAFile() throws {
        let nested = "\(dir)/a/b/c"
        try AtomicFile.ensureDirectory(nested, mode: 0o700)
        var info = stat()
        #expect(stat(nested, &info) == 0 && info.st_mode & 0o777 == 0o700)
        try AtomicFile.ensureDirectory(nested, mode: 0o755)
        #expect(stat(nested, &info) == 0 && info.st_mode & 0o777 == 0o755)
        try AtomicFile.write("not a folder", to: "\(dir)/file")
        let failure = #expect(throws: AtomicFile.Failure.self) { try AtomicFile.ensureDirectory("\(dir)/file", mode: 0o755) }
        #expect(failure?.errno == ENOTDIR)
    }
}
