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
    /// The managed OpenSSH server, its login user and the environment SSH sessions see.
    ///
    /// The path settings default to the real system locations; tests point them elsewhere so
    /// several agents can run side by side.
    public struct SSH: Sendable, Equatable {
        /// Whether podagent runs sshd: `auto` means when the sshd binary exists and podagent runs as root.
        public enum Mode: String, Sendable, CaseIterable { case auto, on, off }

        public var enabled: Mode = .auto
        public var port = 22
        /// Extra public key lines, on top of `PUBLIC_KEY` and `SSH_PUBLIC_KEY`.
        public var authorizedKeys: [String] = []
        /// Extra sshd_config lines (`Keyword value`), validated with `sshd -t` before use.
        public var options: [String] = []
        /// The non-root login user to create, or nil for none.
        public var user: String?
        public var userUID = 1000
        /// Passwordless sudo for ``user``.
        public var userSudo = false
        /// Environment variable names (a trailing `*` matches a prefix) kept out of SSH sessions.
        public var hideEnv: [String] = []
        /// Also generate and offer an RSA host key (for very old clients).
        public var rsa = false
        /// Seconds sshd must stay up before its restart backoff starts again from zero.
        public var restartResetAfter: Double = 60

        public var sshdPath = "/usr/sbin/sshd"
        public var keygenPath = "/usr/bin/ssh-keygen"
        /// The agent-owned authorized keys, one file per login user (`AuthorizedKeysFile` names `<dir>/%u`).
        public var authorizedKeysDir = "/etc/ssh/podagent-authorized-keys"
        /// The pod environment file login shells read.
        public var envFile = "/etc/profile.d/podagent-env.sh"
        /// Files that get one marked line sourcing ``envFile``, placed first so non-interactive shells run it too.
        public var bashrcFiles = ["/etc/bash.bashrc"]
        /// sshd's privilege separation directory.
        public var runDir = "/run/sshd"
        public var sudoersDir = "/etc/sudoers.d"

        public init() {}

        /// Whether sshd should run, given the `auto` rule.
        public func shouldRun(isRoot: Bool) -> Bool {
            switch enabled {
            case .on: true
            case .off: false
            case .auto: isRoot && access(sshdPath, X_OK) == 0
            }
        }
    }
}

extension ConfigSchema {
    /// The `ssh.*` keys (documented in docs/sshd.md).
    static let sshSettings: [ConfigSetting] = [
        ConfigSetting(key: "ssh.enabled", environment: "PODAGENT_SSH", summary: "auto, on or off: run the managed sshd") { config, value throws(ConfigProblem) in
            let text = try value.string().lowercased()
            switch text {
            case "auto": config.ssh.enabled = .auto
            case "on", "true", "yes", "1": config.ssh.enabled = .on
            case "off", "false", "no", "0": config.ssh.enabled = .off
            default: throw ConfigProblem("'\(text)' is not one of auto, on, off")
            }
        },
        ConfigSetting(key: "ssh.port", environment: "PODAGENT_SSH_PORT", summary: "sshd's port") { config, value throws(ConfigProblem) in
            config.ssh.port = try value.int(in: 1...65535)
        },
        ConfigSetting(key: "ssh.authorized_keys", environment: nil, summary: "extra public key lines") { config, value throws(ConfigProblem) in
            switch value {
            case .scalar(let text): config.ssh.authorizedKeys = text.split(separator: "\n").map(String.init)
            case .list(let lines): config.ssh.authorizedKeys = lines
            }
        },
        ConfigSetting(key: "ssh.options", environment: nil, summary: "extra sshd_config lines, validated with sshd -t") { config, value throws(ConfigProblem) in
            switch value {
            case .scalar(let text): config.ssh.options = text.split(separator: "\n").map(String.init)
            case .list(let lines): config.ssh.options = lines
            }
        },
        ConfigSetting(key: "ssh.user", environment: "PODAGENT_SSH_USER", summary: "non-root login user to create (true means runpod)") { config, value throws(ConfigProblem) in
            let text = try value.string().trimmingSpace(newlines: false)
            switch text.lowercased() {
            case "", "false", "off", "no", "none": config.ssh.user = nil
            case "true", "on", "yes": config.ssh.user = "runpod"
            default:
                guard AgentConfig.isLoginName(text), text != "root" else {
                    throw ConfigProblem("'\(text)' is not a valid login name (lowercase letters, digits, _ and -, at most 32, not root)")
                }
                config.ssh.user = text
            }
        },
        ConfigSetting(key: "ssh.user_uid", environment: "PODAGENT_SSH_USER_UID", summary: "UID for the created user") { config, value throws(ConfigProblem) in
            config.ssh.userUID = try value.int(in: 1...2_000_000_000)
        },
        ConfigSetting(key: "ssh.user_sudo", environment: "PODAGENT_SSH_USER_SUDO", summary: "passwordless sudo for ssh.user") { config, value throws(ConfigProblem) in
            config.ssh.userSudo = try value.bool()
        },
        ConfigSetting(key: "ssh.hide_env", environment: "PODAGENT_SSH_HIDE_ENV", summary: "variables kept out of SSH sessions") { config, value throws(ConfigProblem) in
            config.ssh.hideEnv = value.strings()
        },
        ConfigSetting(key: "ssh.rsa", environment: "PODAGENT_SSH_RSA", summary: "also use an RSA host key") { config, value throws(ConfigProblem) in
            config.ssh.rsa = try value.bool()
        },
        ConfigSetting(key: "ssh.restart_reset_after", environment: nil, summary: "seconds up before sshd's restart backoff resets") { config, value throws(ConfigProblem) in
            config.ssh.restartResetAfter = try value.seconds(in: 1...86400)
        },
        ConfigSetting(key: "ssh.sshd_path", environment: nil, summary: "the sshd binary") { config, value throws(ConfigProblem) in
            config.ssh.sshdPath = try value.nonEmptyString()
        },
        ConfigSetting(key: "ssh.keygen_path", environment: nil, summary: "the ssh-keygen binary") { config, value throws(ConfigProblem) in
            config.ssh.keygenPath = try value.nonEmptyString()
        },
        ConfigSetting(key: "ssh.authorized_keys_dir", environment: nil, summary: "agent-owned authorized keys, one file per user") { config, value throws(ConfigProblem) in
            config.ssh.authorizedKeysDir = try absolutePath(value)
        },
        ConfigSetting(key: "ssh.env_file", environment: nil, summary: "pod environment file for SSH sessions") { config, value throws(ConfigProblem) in
            config.ssh.envFile = try absolutePath(value)
        },
        ConfigSetting(key: "ssh.bashrc_files", environment: nil, summary: "bash rc files that source ssh.env_file") { config, value throws(ConfigProblem) in
            let files = value.strings()
            for file in files where !file.hasPrefix("/") { throw ConfigProblem("'\(file)' is not an absolute path") }
            config.ssh.bashrcFiles = files
        },
        ConfigSetting(key: "ssh.run_dir", environment: nil, summary: "sshd's privilege separation directory") { config, value throws(ConfigProblem) in
            config.ssh.runDir = try absolutePath(value)
        },
        ConfigSetting(key: "ssh.sudoers_dir", environment: nil, summary: "where ssh.user's sudoers file goes") { config, value throws(ConfigProblem) in
            config.ssh.sudoersDir = try absolutePath(value)
        },
    ]

    private static func absolutePath(_ value: ConfigValue) throws(ConfigProblem) -> String {
        let path = try value.nonEmptyString()
        guard path.hasPrefix("/") else { throw ConfigProblem("'\(path)' is not an absolute path") }
        return path
    }
}

extension AgentConfig {
    /// `[a-z_][a-z0-9_-]{0,31}`: what useradd takes without complaint. (Checked by hand: a Regex
    /// literal links the regex engine, half a megabyte, into podagent.)
    static func isLoginName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 32, first == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        return bytes.dropFirst().allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}
