import Agent
import ArgumentParser
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
import Logging
import PodAgentExtras

extension PodAgentCommand {
    struct GPU: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gpu", abstract: "Per-process GPU use; free what orphaned model workers hold.",
            subcommands: [List.self, Cleanup.self, Reclaim.self], defaultSubcommand: List.self)
    }
}

extension PodAgentCommand.GPU {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the processes holding GPU memory and whether each is a podagent worker; exit 1 when no GPU can be read.")

        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Seconds the GPU reading may take.") var timeout: Double = 5

        func run() async throws {
            let report = await SystemGPUProbe.forCommand(timeout: .seconds(clamping: timeout)).read()
            let listing = GPUListing(report: report)
            if json {
                print(CommandJSON.string(listing))
            } else if report.available {
                print(GPUProcessTable.render(listing.processes, report: report))
            } else {
                print("no GPU: \(report.reason ?? "unknown reason")")
            }
            if !report.available { throw ExitCode(1) }
        }
    }

    struct Cleanup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SIGKILL orphaned podagent workers that hold GPU memory and wait for it to be freed; never touches other processes.",
            discussion: "A worker is orphaned when its agent (PODAGENT_AGENT_PID) is gone, it no longer descends from it, or its worker (process group leader) has ended. Exit 1 when memory is still held at the deadline or no GPU can be read.")

        @Flag(help: "Only show what would be killed.") var dryRun = false
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Seconds to wait for the memory to be released.") var timeout: Double = 10

        func run() async throws {
            let probe = SystemGPUProbe.forCommand(timeout: .seconds(5))
            let result = await GPUOrphanCleanup(probe: probe).run(dryRun: dryRun, timeout: .seconds(clamping: timeout))
            print(json ? CommandJSON.string(result) : GPUOrphanCleanup.render(result))
            if !result.complete { throw ExitCode(1) }
        }
    }

    struct Reclaim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SIGKILL the processes of one process group that hold GPU memory and wait for it to be freed (what podagent does after ending a worker).")

        @Option(help: "The process group (a worker's pid).") var group: Int32
        @Option(help: "The model to name in the record.") var model: String = "manual"
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Seconds to wait for the memory to be released.") var timeout: Double = 10

        func validate() throws {
            if group <= 1 { throw ValidationError("--group must be a worker's process group (greater than 1)") }
        }

        func run() async throws {
            let probe = SystemGPUProbe.forCommand(timeout: .seconds(5))
            let reclaimer = GPUReclaimer(probe: probe, metrics: nil, logger: Logger(label: "podagent.gpu"))
            let record = await reclaimer.reclaim(model: model, processGroup: group, timeout: .seconds(clamping: timeout))
            if json {
                print(CommandJSON.string(record))
            } else {
                print("process group \(record.process_group): \(record.holders.count) GPU holder(s), killed \(record.killed), freed \(decimalText(record.freed_mib, decimals: 0)) MiB, \(record.complete ? "complete" : "still held: \(record.remaining)")\(record.note.map { " (\($0))" } ?? "")")
            }
            if !record.complete { throw ExitCode(1) }
        }
    }
}
