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
import ServiceLifecycle

/// Where the signals podagent receives go, as the supervisor's thread takes them
/// (``Supervisor/signals``): SIGTERM and SIGINT stop podagent (the command gets them first),
/// SIGHUP reloads sshd's configuration and reaches the command, the rest only reach the command.
///
/// It returns on SIGTERM or SIGINT; the service group runs it with
/// `successTerminationBehavior: .gracefullyShutdownGroup`, so that return starts the graceful shutdown.
struct SignalService: Service {
    let signals: AsyncStream<Int32>
    let sshd: SSHDService?
    let command: CommandService?
    let logger: Logger

    func run() async throws {
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case SIGTERM, SIGINT:
                logger.notice("received signal \(signal): shutting down")
                command?.markShuttingDown()
                command?.forward(signal)
                return
            case SIGHUP:
                logger.notice("received SIGHUP: reloading the sshd configuration")
                command?.forward(signal)
                sshd?.reload()
            default:
                command?.forward(signal)
            }
        }
    }
}
