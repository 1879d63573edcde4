import Agent
import Dispatch
import Foundation

@main
enum Entry {
    /// A synchronous main on purpose: `run` supervises children, so SIGCHLD and the termination
    /// signals must be blocked on the main thread itself before any other thread exists. An async
    /// main runs its body on a dispatch thread and leaves the main thread unblocked, where the
    /// signals would land and be lost instead of reaching the supervisor's sigtimedwait.
    /// The main thread then only waits; nothing in podagent needs the main actor.
    static func main() {
        if CommandLine.arguments.dropFirst().first == "run" { SignalMask.blockForSupervisor() }
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await PodAgentCommand.main()
            done.signal()
        }
        done.wait()
        exit(0)
    }
}
