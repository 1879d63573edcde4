import ArgumentParser
import Controller

extension PodctlCommand {
    struct Code: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the VS Code Remote-SSH URL for a pod and open it with `code --remote` when installed.",
            discussion: "Run `podctl ssh-config --write` first so VS Code knows the host.")

        @Argument(help: "The pod (its Host alias from ssh-config).") var pod: String
        @Argument(help: "Folder to open on the pod.") var path = "/workspace"
        @Flag(help: "Only print the URL.") var printOnly = false

        func run() throws {
            print(CodeCommand.url(pod: pod, path: path))
            guard !printOnly, let code = CodeCommand.findCode() else { return }
            let status = try CodeCommand.launch(code: code, pod: pod, path: path)
            if status != 0 { throw ExitCode(status) }
        }
    }
}
