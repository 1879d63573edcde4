import Agent

@main
enum Entry {
    static func main() async {
        // `run` supervises children: SIGCHLD and the termination signals must be blocked before
        // any thread exists, so that only the supervisor's thread takes them.
        if CommandLine.arguments.dropFirst().first == "run" { SignalMask.blockForSupervisor() }
        await PodAgentCommand.main()
    }
}
