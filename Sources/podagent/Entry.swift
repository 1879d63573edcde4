import Agent
import ArgumentParser
import Dispatch
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
import PodAgentExtras

@main
enum Entry {
    static func main() {
        // `run` supervises children: SIGCHLD and the termination signals must be blocked in every
        // thread so that only the supervisor's thread takes them. This synchronous main runs on the
        // process's first thread before any other exists; that thread then only waits, with the
        // signals still blocked (an async main would leave it unblocked, and SIGTERM would kill us).
        let serving = CommandLine.arguments.dropFirst().first == "run"
        if serving {
            SignalMask.blockForSupervisor()
            // Before the first task: the agent's tasks run on its `http.threads` event loop threads
            // (the root task's executor preference, inherited by its child tasks), so its threads do
            // not grow with the host's core count.
            ThreadBudget.install(threads: PodAgentCommand.Run.configuredThreads())
        }
        let done = DispatchSemaphore(value: 0)
        Task.detached(executorPreference: serving ? ThreadBudget.taskExecutor : nil) {
            do {
                var command = try PodAgentCommand.parseAsRoot()
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
            } catch let error as any CommandLineError {
                // The one place podagent shows an error: each module's error knows its row of ProgramExit.
                exit(error.report(program: "podagent"))
            } catch where PodAgentCommand.exitCode(for: error) == .validationFailure {
                // swift-argument-parser's usage errors exit with the table's 2 (bad usage), not its 64.
                StandardStream.writeError(PodAgentCommand.fullMessage(for: error) + "\n")
                exit(ProgramExit.usage.rawValue)
            } catch {
                PodAgentCommand.exit(withError: error)
            }
            done.signal()
        }
        done.wait()
    }
}
