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
        // Parsing first: whether signals are blocked depends on the command parsed, however it was
        // spelled (`run`, its alias `serve`, options in any order), never on argv's text.
        let command: any ParsableCommand
        do {
            command = try PodAgentCommand.parseAsRoot()
        } catch {
            fail(error)
        }
        // `run` supervises children: SIGCHLD and the termination signals must be blocked in every
        // thread so that only the supervisor's thread takes them. Parsing starts no thread, so this
        // synchronous main still runs on the process's only thread (checked: blocking refuses
        // otherwise); that thread then only waits, with the signals still blocked (an async main
        // would leave it unblocked, and SIGTERM would kill us).
        let served: (run: PodAgentCommand.Run, config: AgentConfig)?
        if let run = command as? PodAgentCommand.Run {
            do {
                try SignalMask.blockForSupervisor()
            } catch {
                fail(error)
            }
            // Read once, here, and handed to the launcher: `http.threads` sizes the event loops,
            // which must exist before the first task, and a second read could see another file.
            let config: AgentConfig
            do {
                config = try run.options.loader.load()
            } catch {
                fail(error)
            }
            // Before the first task: the agent's tasks run on its `http.threads` event loop threads
            // (the root task's executor preference, inherited by its child tasks), so its threads do
            // not grow with the host's core count.
            ThreadBudget.install(threads: config.http.threads)
            served = (run, config)
        } else {
            served = nil
        }
        let done = DispatchSemaphore(value: 0)
        Task.detached(executorPreference: served == nil ? nil : ThreadBudget.taskExecutor) {
            do {
                var command = command
                if let served {
                    try await served.run.run(config: served.config)
                } else if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
            } catch {
                fail(error)
            }
            done.signal()
        }
        done.wait()
    }

    /// Prints the error once and exits with its row of the exit-status table.
    static func fail(_ error: any Error) -> Never {
        switch error {
        case let error as any CommandLineError:
            // The one place podagent shows an error: each module's error knows its row of ProgramExit.
            exit(error.report(program: "podagent"))
        case _ where PodAgentCommand.exitCode(for: error) == .validationFailure:
            // swift-argument-parser's usage errors exit with the table's 2 (bad usage), not its 64.
            StandardStream.writeError(PodAgentCommand.fullMessage(for: error) + "\n")
            exit(ProgramExit.usage.rawValue)
        default:
            PodAgentCommand.exit(withError: error)
        }
    }
}
