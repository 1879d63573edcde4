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

extension AgentConfig {
    /// The inference engine: worker pools, placement on GPUs, queues, restarts (docs/inference.md).
    public struct Inference: Sendable, Equatable {
        /// How each instance of a model is given a GPU.
        public enum Placement: Sendable, Equatable, CustomStringConvertible {
            /// Round-robin over the visible GPUs when there are any, else no GPU.
            case auto
            /// No GPU: `CUDA_VISIBLE_DEVICES` unset, `PODAGENT_DEVICE=cpu`.
            case none
            /// One instance per visible GPU (the instance count follows the GPU count).
            case perGPU
            /// These GPU ids, round-robin over the instances.
            case gpus([String])

            public var description: String {
                switch self {
                case .auto: "auto"
                case .none: "none"
                case .perGPU: "per-gpu"
                case .gpus(let ids): ids.joined(separator: ",")
                }
            }
        }

        /// Instances per model, by model name (case-insensitive); `*` is the default for the others.
        public var instances: [String: Int] = [:]
        public var placement: Placement = .auto
        /// Requests waiting per model beyond those running; one more is refused (429).
        public var queueLimit = 16
        /// Seconds before the first restart of a worker that died (doubling up to ``restartBackoffMax``).
        public var restartBackoffInitial: Double = 0.1
        public var restartBackoffMax: Double = 30
        /// Seconds between retries of a request whose worker died (doubling each attempt).
        public var retryBackoff: Double = 0.1
        /// This many worker failures within ``crashLoopWindow`` seconds make the model not ready.
        public var crashLoopFailures = 5
        public var crashLoopWindow: Double = 60
        /// SIGTERM → SIGKILL grace when a worker's process group is ended.
        public var killGrace: Double = 5
        /// Seconds a worker may take to load its model.
        public var loadTimeout: Double = 900
        /// Replaces `python3`/`python` as the first word of a worker command, used as given; nil: the first
        /// `python3` on PATH that the workers' user can run (``InferencePython``).
        public var python: String?
        /// The user model workers run as when podagent runs as root (a name or uid); nil chooses
        /// the SSH login user when one is configured, else `nobody`. `root` must be asked for by name.
        public var user: String?

        public init() {}

        /// The configured instance count of `model` (at least 1).
        public func instanceCount(of model: String) -> Int {
            if let match = instances.first(where: { $0.key.lowercased() == model.lowercased() }) { return match.value }
            return instances["*"] ?? 1
        }
    }
}

extension ConfigSchema {
    /// The `inference.*` keys (documented in docs/inference.md).
    static let inferenceSettings: [ConfigSetting] = [
        ConfigSetting(key: "inference.instances", environment: "PODAGENT_INFERENCE_INSTANCES", summary: "worker instances per model: N for all, or MODEL=N entries (VAD=2,PETR=1,*=1)") { config, value throws(ConfigProblem) in
            var counts: [String: Int] = [:]
            for entry in value.strings() {
                let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingSpace(newlines: false) }
                let (name, count) = parts.count == 2 ? (parts[0], parts[1]) : ("*", parts[0])
                guard !name.isEmpty, let number = Int(count), (1...64).contains(number) else {
                    throw ConfigProblem("'\(entry)': expected N or MODEL=N with N in 1...64")
                }
                counts[name] = number
            }
            config.inference.instances = counts
        },
        ConfigSetting(key: "inference.placement", environment: "PODAGENT_INFERENCE_PLACEMENT", summary: "GPU per instance: auto, none, per-gpu, or GPU ids (0,1,3)") { config, value throws(ConfigProblem) in
            let words = value.strings()
            switch words.map({ $0.lowercased() }) {
            case ["auto"]: config.inference.placement = .auto
            case ["none"]: config.inference.placement = .none
            case ["per-gpu"]: config.inference.placement = .perGPU
            default:
                guard !words.isEmpty, words.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
                    throw ConfigProblem("'\(words.joined(separator: ","))' is not auto, none, per-gpu or a list of GPU ids")
                }
                config.inference.placement = .gpus(words)
            }
        },
        ConfigSetting(key: "inference.queue_limit", environment: "PODAGENT_INFERENCE_QUEUE_LIMIT", summary: "requests waiting per model before 429") { config, value throws(ConfigProblem) in
            config.inference.queueLimit = try value.int(in: 0...100_000)
        },
        ConfigSetting(key: "inference.restart_backoff_initial", environment: "PODAGENT_INFERENCE_RESTART_BACKOFF_INITIAL", summary: "seconds before a dead worker's first restart") { config, value throws(ConfigProblem) in
            config.inference.restartBackoffInitial = try value.seconds(in: 0...600)
        },
        ConfigSetting(key: "inference.restart_backoff_max", environment: "PODAGENT_INFERENCE_RESTART_BACKOFF_MAX", summary: "longest wait between worker restarts") { config, value throws(ConfigProblem) in
            config.inference.restartBackoffMax = try value.seconds(in: 0...3600)
        },
        ConfigSetting(key: "inference.retry_backoff", environment: "PODAGENT_INFERENCE_RETRY_BACKOFF", summary: "seconds before retrying a request whose worker died (doubling)") { config, value throws(ConfigProblem) in
            config.inference.retryBackoff = try value.seconds(in: 0...600)
        },
        ConfigSetting(key: "inference.crash_loop_failures", environment: "PODAGENT_INFERENCE_CRASH_LOOP_FAILURES", summary: "worker failures within the window that make a model not ready") { config, value throws(ConfigProblem) in
            config.inference.crashLoopFailures = try value.int(in: 1...1000)
        },
        ConfigSetting(key: "inference.crash_loop_window", environment: "PODAGENT_INFERENCE_CRASH_LOOP_WINDOW", summary: "seconds over which worker failures are counted") { config, value throws(ConfigProblem) in
            config.inference.crashLoopWindow = try value.seconds(in: 1...86400)
        },
        ConfigSetting(key: "inference.kill_grace", environment: "PODAGENT_INFERENCE_KILL_GRACE", summary: "seconds between SIGTERM and SIGKILL for a worker's process group") { config, value throws(ConfigProblem) in
            config.inference.killGrace = try value.seconds(in: 0...300)
        },
        ConfigSetting(key: "inference.load_timeout", environment: "PODAGENT_INFERENCE_LOAD_TIMEOUT", summary: "seconds a worker may take to load its model") { config, value throws(ConfigProblem) in
            config.inference.loadTimeout = try value.seconds(in: 1...86400)
        },
        ConfigSetting(key: "inference.python", environment: "PODAGENT_INFERENCE_PYTHON", summary: "python executable for worker commands starting with python3/python") { config, value throws(ConfigProblem) in
            config.inference.python = try value.nonEmptyString()
        },
        ConfigSetting(key: "inference.user", environment: "PODAGENT_INFERENCE_USER", summary: "user model workers run as when podagent is root (default: ssh.user, else nobody)") { config, value throws(ConfigProblem) in
            let user = try value.nonEmptyString()
            guard user.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                throw ConfigProblem("'\(user)' is not a user name or uid")
            }
            config.inference.user = user
        },
    ]
}
