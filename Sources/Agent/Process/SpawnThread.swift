#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one thread every child process is forked from.
///
/// Children get SIGKILL as their parent-death signal (`pa_spawn`), and Linux sends it when the
/// *thread* that forked them ends, not the process. The cooperative pool's threads come and go
/// (Dispatch retires idle ones), so a child forked there would be killed seconds later for no reason.
/// This thread never ends, so a child's parent-death signal fires only when podagent itself dies.
enum SpawnThread {
    static let shared = BlockingPool(threads: 1, name: "podagent-spawn")
}
