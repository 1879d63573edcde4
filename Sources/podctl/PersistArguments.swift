import ArgumentParser
import Controller
import Foundation

/// `--persist DURATION` for the commands that connect to pods (PODCTL_PERSIST when not given).
struct PersistArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Keep the SSH sessions in the background mux for later commands, closing them after DURATION idle (e.g. 10m, 1h; off). Default: PODCTL_PERSIST.", valueName: "duration"))
    var persist: String?

    func validate() throws {
        do { _ = try settings() } catch { throw ValidationError(error.message) }
    }

    func settings() throws(ControllerError) -> PersistSettings? {
        guard let text = persist ?? ProcessInfo.processInfo.environment["PODCTL_PERSIST"], !text.isEmpty else { return nil }
        return try PersistSettings.parseDuration(text).map { PersistSettings(idle: $0) }
    }
}
