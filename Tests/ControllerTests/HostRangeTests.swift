import Controller
import Testing

@Suite("Host ranges")
struct HostRangeTests {
    @Test func expandsPaddedRangesAndLists() throws {
        #expect(try HostRange.expand("pod[01-03,07]") == ["pod01", "pod02", "pod03", "pod07"])
        #expect(try HostRange.expand("clu-[1-2]-[1-2]") == ["clu-1-1", "clu-1-2", "clu-2-1", "clu-2-2"])
        #expect(try HostRange.expand("plain") == ["plain"])
        #expect(try HostRange.expand("node[8-10]") == ["node8", "node9", "node10"])
    }

    @Test func rejectsBadRanges() {
        for bad in ["pod[01-", "pod]", "pod[3-1]", "pod[a-b]", "pod[]", "pod[1-2-3]"] {
            #expect(throws: ControllerError.self, "\(bad)") { try HostRange.expand(bad) }
        }
    }

    @Test func foldsLikeDshbak() throws {
        #expect(HostRange.fold(["pod01", "pod02", "pod03", "pod04", "pod05", "pod07"]) == "pod[01-05,07]")
        #expect(HostRange.fold(["pod09", "pod10", "pod11"]) == "pod[09-11]")
        #expect(HostRange.fold(["node9", "node10", "node1"]) == "node[1,9-10]")
        #expect(HostRange.fold(["a", "pod1"]) == "a,pod1")
        let names = try HostRange.expand("pod[001-250]").filter { $0 != "pod100" }
        #expect(HostRange.fold(names) == "pod[001-099,101-250]")
        #expect(try HostRange.expand(HostRange.fold(names)) == names)
    }

    @Test func splitsListsOutsideBrackets() {
        #expect(HostRange.splitList("pod[01-03,05],gpu1,x") == ["pod[01-03,05]", "gpu1", "x"])
    }
}
