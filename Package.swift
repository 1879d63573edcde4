// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "PodAgent",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "podagent", targets: ["podagent"]),
        .executable(name: "podctl", targets: ["podctl"]),
        .library(name: "Agent", targets: ["Agent"]),
        .library(name: "Plugins", targets: ["Plugins"]),
        .library(name: "Controller", targets: ["Controller"]),
    ],
    dependencies: [
        // No default traits: "FullFoundation" would link all of Foundation and ICU's data into podagent
        // (issue 17), and podagent reads no swift-configuration ("ConfigurationSupport").
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        // Hummingbird's own dependencies, named for the agent's connection limits (channel handlers).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // C shims: the only places C types appear; each is wrapped by one Swift module or file.
        .target(name: "CShims", path: "Sources/CShims"),
        // podctl's own: the mux's control socket (SO_PEERCRED, SCM_RIGHTS) and its detached start.
        .target(name: "CPodctlShims", path: "Sources/CPodctlShims"),
        .systemLibrary(
            name: "CLibSSH", path: "Sources/CLibSSH", pkgConfig: "libssh",
            providers: [.apt(["libssh-dev"])]
        ),
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // What every module may use: durable file writes, Duration in seconds, the exit statuses. libc only.
        .target(name: "PodAgentExtras", path: "Sources/PodAgentExtras", swiftSettings: strict),
        // The agent's HTTP API for server and clients: its Codable types, one blocking HTTP transport, the
        // client, the token rule. FoundationEssentials only (no NIO, no URLSession), so podagent stays lean.
        .target(name: "AgentAPI", dependencies: ["PodAgentExtras"], path: "Sources/AgentAPI", swiftSettings: strict),
        // The YAML subset of the config file and the plugin manifests, strict, with no Foundation (Yams
        // pulls in all of Foundation and its ICU data, which podagent must not link).
        .target(name: "MiniYAML", path: "Sources/MiniYAML", swiftSettings: strict),
        // Model plugins: manifests, parsers, the standard result, exports. No networking.
        .target(
            name: "Plugins",
            dependencies: ["PodAgentExtras", "MiniYAML"],
            path: "Sources/Plugins",
            swiftSettings: strict
        ),
        // The in-pod agent: config, HTTP app, health, GPU probe, supervisor, sshd, workers.
        .target(
            name: "Agent",
            dependencies: [
                "Plugins", "CShims", "AgentAPI", "PodAgentExtras",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "MiniYAML",
            ],
            path: "Sources/Agent",
            swiftSettings: strict
        ),
        // libssh, wrapped: typed errors, Swift types only.
        .target(name: "SSHClient", dependencies: ["CLibSSH", "CShims", "PodAgentExtras"], path: "Sources/SSHClient", swiftSettings: strict),
        // libcurl, wrapped: typed errors, Swift types only.
        .target(name: "CurlClient", dependencies: ["CCurl"], path: "Sources/CurlClient", swiftSettings: strict),
        // Model comparison: runs samples through the agent's HTTP API, metrics, report.json/report.html.
        // No SSH and no libcurl, so podagent (inside the pod) and podctl (through a tunnel) share it.
        .target(name: "Compare", dependencies: ["Plugins", "AgentAPI", "PodAgentExtras"], path: "Sources/Compare", swiftSettings: strict),
        // podctl's logic: inventory, targets, fan-out, commands.
        .target(
            name: "Controller",
            dependencies: [
                "SSHClient", "CurlClient", "Plugins", "Compare", "AgentAPI", "PodAgentExtras", "CShims", "CPodctlShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Controller",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "podagent",
            dependencies: ["Agent", "AgentAPI", "Plugins", "Compare", "PodAgentExtras", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/podagent",
            exclude: ["exports.map", "startup.order"],
            swiftSettings: strict,
            // Export no dynamic symbols: nothing loads podagent as a library, and the ~30000 Swift symbols
            // it would export cost 3.4 MB of the stripped binary (issue 17).
            linkerSettings: [
                .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/podagent/exports.map"], .when(platforms: [.linux])),
                // Release builds link with lld (in the toolchain): DT_RELR packs the PIE's relative relocations
                // (1.9 MB of .rela.dyn, kept PIE so ASLR stays), identical code folding merges duplicate
                // functions (0.45 MB), and the functions an idle agent runs are placed together
                // (startup.order, written by bench/health/startup_order.py), so the kernel maps a few MiB of
                // .text instead of nearly all of it. Issue 17; docs/images.md, "The static build".
                .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--icf=all",
                              "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/podagent/startup.order",
                              "-Xlinker", "--no-warn-symbol-ordering"],
                             .when(platforms: [.linux], configuration: .release)),
            ]
        ),
        .executableTarget(
            name: "podctl",
            dependencies: ["Controller", "AgentAPI", "Compare", "PodAgentExtras", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/podctl",
            swiftSettings: strict
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "AgentAPI", "Plugins", "PodAgentExtras", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/AgentTests",
            exclude: ["Support/model_stand_in_worker.py"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AgentAPITests",
            dependencies: ["AgentAPI", "Plugins", "TestProcesses"],
            path: "Tests/AgentAPITests",
            exclude: ["Support/scripted_http.py"],
            swiftSettings: strict
        ),
        // The libssh and libcurl wrappers on their own: a real sshd, a real HTTP(S) server on loopback.
        .testTarget(
            name: "SSHClientTests",
            dependencies: ["SSHClient", "TestProcesses"],
            path: "Tests/SSHClientTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CurlClientTests",
            dependencies: ["CurlClient", "TestProcesses"],
            path: "Tests/CurlClientTests",
            exclude: ["Support/echo_server.py"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PodAgentExtrasTests",
            dependencies: ["PodAgentExtras"],
            path: "Tests/PodAgentExtrasTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "PluginsTests",
            dependencies: ["Plugins", "MiniYAML"],
            path: "Tests/PluginsTests",
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        // Child processes, loopback ports and temp dirs for the suites that drive real programs.
        .target(
            name: "TestProcesses",
            path: "Tests/TestProcesses",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ControllerTests",
            dependencies: [
                "Controller", "SSHClient", "CurlClient", "Compare", "AgentAPI", "PodAgentExtras", "TestProcesses",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/ControllerTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CompareTests",
            dependencies: ["Compare", "AgentAPI", "Plugins", "TestProcesses"],
            path: "Tests/CompareTests",
            exclude: ["Support/standin_agent.py"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
