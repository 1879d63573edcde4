import Plugins
import PodAgentExtras

/// Writes a model's image recipe from its plugin manifest alone: the manifest's `versions`,
/// `upstream` and `name` are the only model facts in it, so the checked-in recipes cannot drift from
/// the manifests without the image test noticing.
///
/// Two stages: `builder` compiles podagent fully static against Swift's static Linux SDK (musl); the
/// model stage starts from the manifest's base image. Layers go from what changes least (system
/// packages, the login user, the OpenMMLab stack, the model's pinned code) to what changes most
/// (podagent, the plugin folder), so editing code never reinstalls the dependencies.
public struct DockerfileGenerator: Sendable {
    /// The in-image paths and ports the recipe and podagent's defaults agree on.
    public struct Layout: Sendable, Equatable {
        public var pluginsDir = "/opt/podagent/plugins"
        public var modelsDir = "/opt/models"
        public var binary = "/usr/local/bin/podagent"
        /// The model's Python environment (first on PATH, so `python3` is it).
        public var venv = "/opt/venv"
        /// podagent's build records: the pip constraints and what pip resolved.
        public var podagentDir = "/opt/podagent"
        public var constraints: String { "\(podagentDir)/constraints.txt" }
        public var workspace = "/workspace"
        public var loginUser = "runpod"
        public var loginUID = 1000
        public var sshPort = 22
        public var apiPort = 8080
        public init() {}
    }

    public var toolchain: ImageToolchain
    public var layout: Layout

    public init(toolchain: ImageToolchain = .pinned, layout: Layout = Layout()) {
        self.toolchain = toolchain
        self.layout = layout
    }

    /// Parsers of synthetic models: they have no upstream code or GPU stack worth an image.
    public static let syntheticParsers: Set<String> = ["demo"]

    /// The Dockerfile for `manifest`.
    /// - Throws: ``AgentError`` `.invalidConfig` naming the manifest file and key when a value cannot go
    ///   into a recipe safely (a commit that is not a hex hash, a version or image name with odd
    ///   characters), or `.invalidArgument` for a synthetic model.
    public func dockerfile(for manifest: PluginManifest) throws(AgentError) -> String {
        let source = manifest.sourcePath
        if Self.syntheticParsers.contains(manifest.parser) {
            throw AgentError(.invalidArgument, "\(source): model \(manifest.name) is synthetic (parser '\(manifest.parser)'): it has no image; run it with any podagent build (docs/images.md)")
        }
        let facts = try ManifestFacts(manifest)
        return render(manifest, facts)
    }

    private func render(_ m: PluginManifest, _ facts: ManifestFacts) -> String {
        let v = m.versions
        let env = facts.environment
        let repoDir = "\(layout.modelsDir)/\(m.name)"
        let pluginRelative = Self.pluginFolder(m)
        let python = env.python.version
        var lines = header(m, pluginRelative)
        lines += [
            "",
            "# ---- \(m.name): its whole environment as its upstream install instructions state it (\(pluginRelative)/plugin.yaml) ----",
            "FROM \(v.baseImage)",
            "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]",
            "# Old CUDA bases list NVIDIA's apt repositories, whose signing key was rotated in 2022 (apt-get update",
            "# fails on them); nothing here comes from them. Python \(python) with its headers (ops are compiled",
            "# against them) and distutils (Debian ships it apart; setuptools 59 and torch 1.x use it).",
        ]
        for package in env.systemPackages { lines.append("# apt \(package.name): \(package.cite)") }
        let apt = ["openssh-server", "git", "ca-certificates", "build-essential", "python\(python)", "python\(python)-dev",
                   "python\(python)-venv", "python3-distutils"] + env.systemPackages.map(\.name)
        lines += [
            "RUN rm -f /etc/apt/sources.list.d/cuda*.list /etc/apt/sources.list.d/nvidia-ml*.list \\",
            " && apt-get update \\",
            " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \(apt.joined(separator: " ")) \\",
            " && rm -rf /var/lib/apt/lists/*",
            "# The SSH login user: UID \(layout.loginUID), no password at all. '*' matches no password, and unlike a",
            "# locked ('!') account it still accepts keys: OpenSSH without PAM refuses locked accounts (docs/sshd.md).",
            "# Model workers run as this user too (podagent, root for sshd, starts them as it: docs/images.md).",
            "RUN useradd --create-home --shell /bin/bash --uid \(layout.loginUID) --user-group \(layout.loginUser) \\",
            " && usermod --password '*' \(layout.loginUser)",
            "# Python \(python): \(env.python.cite)",
            "RUN python\(python) -m venv \(layout.venv)",
            "ENV PATH=\(layout.venv)/bin:$PATH VIRTUAL_ENV=\(layout.venv) PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
        ]
        for tool in env.buildTools { lines.append("# \(tool.name) \(tool.version): \(tool.cite)") }
        if !env.buildTools.isEmpty {
            lines.append("RUN python -m pip install \(env.buildTools.map { Self.pin($0) }.joined(separator: " "))")
        }
        lines += [
            "# Every pin below, as pip constraints: no install can move what another pinned (a conflict stops the build).",
            "RUN mkdir -p \(layout.podagentDir) \\",
            " && printf '%s\\n' \(env.packages.map { Self.pin($0) }.joined(separator: " ")) > \(layout.constraints)",
            "# CUDA code is compiled with no GPU present to ask: \(env.cudaArchitectures.cite)",
            "ENV FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=\"\(env.cudaArchitectures.targets.joined(separator: " "))\"",
        ]
        for group in Self.installGroups(env.packages) {
            for package in group { lines.append("# \(package.name) \(package.version): \(package.cite)") }
            let first = group[0]
            var options = ["-c", layout.constraints]
            if let url = first.findLinks { options += ["-f", url] }
            if let url = first.indexURL { options += ["--index-url", url] }
            if let url = first.extraIndexURL { options += ["--extra-index-url", url] }
            if first.noBuildIsolation { options.append("--no-build-isolation") }
            lines.append("RUN pip install \(options.joined(separator: " ")) \(group.map { Self.pin($0) }.joined(separator: " "))")
            if group.contains(where: { $0.name == "torch" }) {
                lines += [
                    "# Stop early when torch is not the summary's version and CUDA, or nvcc (which compiles the ops) is another CUDA.",
                    "RUN python -c \"import sys, torch; found = (torch.__version__.split('+')[0], torch.version.cuda); "
                        + "sys.exit(0 if found == ('\(v.pytorch)', '\(v.cuda)') else 'torch/CUDA %s/%s installed; the manifest says \(v.pytorch)/\(v.cuda)' % found)\" \\",
                    " && nvcc --version | grep -q 'release \(v.cuda),'",
                ]
            }
        }
        lines += checkout(repository: m.upstream.repository, commit: facts.commit, into: repoDir,
                          comment: "# The model's code at its pinned commit (a full hash: the build stops if HEAD is anything else).")
        for companion in env.repositories {
            let dir = "\(repoDir)/\(companion.path)"
            lines += checkout(repository: companion.repository, commit: companion.commit, into: dir,
                              comment: "# \(companion.path): \(companion.repository)\(companion.tag.map { " \($0)" } ?? "") at its full commit: \(companion.cite)")
            if companion.develop {
                lines.append("RUN pip install -c \(layout.constraints) --no-deps --no-build-isolation -e \(dir)")
            }
        }
        for folder in env.develop {
            lines += [
                "# \(folder.path), develop mode: \(folder.cite)",
                "RUN pip install -c \(layout.constraints) --no-deps --no-build-isolation -e \(repoDir)/\(folder.path)",
            ]
        }
        for op in env.ops {
            lines.append("# op \(op.path): \(op.cite)")
            if op.setupAsksForAGPU {
                lines += [
                    "# Its setup.py refuses to build unless torch.cuda.is_available(); no GPU exists during a build, so it runs",
                    "# with that answer forced (the kernels are compiled for TORCH_CUDA_ARCH_LIST above).",
                    "RUN cd \(repoDir)/\(op.path) \\",
                    " && python -c \"import runpy, sys, torch; torch.cuda.is_available = lambda: True; sys.argv = ['setup.py', 'build', 'install']; runpy.run_path('setup.py', run_name='__main__')\"",
                ]
            } else {
                lines.append("RUN cd \(repoDir)/\(op.path) && python setup.py build install")
            }
        }
        lines += [
            "# Every pin is what is installed (nothing moved one), and what pip resolved besides is kept for the record.",
            "RUN python -c \"import sys, pkg_resources; pins = [l.split('==') for l in open('\(layout.constraints)').read().split()]; "
                + "moved = ['%s==%s (installed: %s)' % (n, v, pkg_resources.get_distribution(n).version) for n, v in pins if pkg_resources.get_distribution(n).version != v]; "
                + "sys.exit('pins moved: ' + ', '.join(moved) if moved else 0)\" \\",
            " && pip freeze > \(layout.podagentDir)/pip-freeze.txt",
        ]
        lines += tail(m, facts, pluginRelative)
        return lines.joined(separator: "\n") + "\n"
    }

    /// `name==version`, quoted for the shell only where it needs it (never: names and versions are checked).
    static func pin(_ package: PluginManifest.Environment.Package) -> String { "\(package.name)==\(package.version)" }

    /// Consecutive packages that share pip options go into one `pip install`, resolved together.
    static func installGroups(_ packages: [PluginManifest.Environment.Package]) -> [[PluginManifest.Environment.Package]] {
        var groups: [[PluginManifest.Environment.Package]] = []
        for package in packages {
            if let last = groups.last?.last, last.findLinks == package.findLinks, last.indexURL == package.indexURL,
               last.extraIndexURL == package.extraIndexURL, last.noBuildIsolation == package.noBuildIsolation, !package.noBuildIsolation {
                groups[groups.count - 1].append(package)
            } else {
                groups.append([package])
            }
        }
        return groups
    }

    /// A repository at a full commit in `dir`; the build stops when HEAD is anything else.
    private func checkout(repository: String, commit: String, into dir: String, comment: String) -> [String] {
        [
            comment,
            "RUN git init -q \(dir) \\",
            " && cd \(dir) \\",
            " && git remote add origin \(repository) \\",
            " && git fetch -q --depth 1 origin \(commit) \\",
            " && git checkout -q --detach \(commit) \\",
            " && head=\"$(git rev-parse HEAD)\" \\",
            " && if [ \"$head\" != \"\(commit)\" ]; then echo \"\(dir): HEAD is $head, not the pinned \(commit)\" >&2; exit 1; fi",
        ]
    }

    private func header(_ m: PluginManifest, _ pluginRelative: String) -> [String] {
        [
            "# syntax=docker/dockerfile:1",
            "# GENERATED by `podagent image dockerfile --model \(m.name)` from \(pluginRelative)/plugin.yaml. Do not edit:",
            "# change the manifest (or the generator) and run `make images`. Build from the repository root with",
            "# `bootstrap/images/build \(m.name)` (docs/images.md).",
            "",
            "# The toolchain and its static Linux SDK must be the same Swift release.",
            "ARG SWIFT_VERSION=\(toolchain.swiftVersion)",
            "ARG SWIFT_SDK_BUNDLE=\(toolchain.staticSDKBundleVersion)",
            "ARG SWIFT_SDK_CHECKSUM=\(toolchain.staticSDKChecksum)",
            "",
            "# ---- builder: podagent linked fully static against musl, so it starts on the model's old glibc ----",
            "FROM swift:${SWIFT_VERSION}-noble AS builder",
            "ARG SWIFT_VERSION",
            "ARG SWIFT_SDK_BUNDLE",
            "ARG SWIFT_SDK_CHECKSUM",
            "RUN swift sdk install \\",
            "      \"https://download.swift.org/swift-${SWIFT_VERSION}-release/static-sdk/swift-${SWIFT_VERSION}-RELEASE/swift-${SWIFT_VERSION}-RELEASE_static-linux-${SWIFT_SDK_BUNDLE}.artifactbundle.tar.gz\" \\",
            "      --checksum \"${SWIFT_SDK_CHECKSUM}\"",
            "WORKDIR /src",
            "# Dependencies first: this layer is reused until Package.swift (or Package.resolved) changes.",
            "COPY Package.swift Package.resolve[d] ./",
            "RUN swift package resolve",
            "COPY Sources ./Sources",
            // -Osize: 1.5 MB less code for a few per cent of health throughput (BENCHMARKS.md, "A lean agent").
            "RUN swift build -c release --swift-sdk \(toolchain.swiftSDK) --product podagent -Xswiftc -Osize \\",
            " && install -m 0755 \"$(swift build -c release --swift-sdk \(toolchain.swiftSDK) --show-bin-path)/podagent\" /podagent",
        ]
    }

    private func tail(_ m: PluginManifest, _ facts: ManifestFacts, _ pluginRelative: String) -> [String] {
        let v = m.versions
        var labels = [
            "org.opencontainers.image.title=\"podagent-\(m.name.lowercased())\"",
            "podagent.model=\"\(m.name)\"",
            "podagent.model.version=\"\(m.version)\"",
            "podagent.upstream.repository=\"\(m.upstream.repository)\"",
            "podagent.upstream.commit=\"\(facts.commit)\"",
            "podagent.versions.python=\"\(facts.environment.python.version)\"",
            "podagent.versions.pytorch=\"\(v.pytorch)\"",
            "podagent.versions.cuda=\"\(v.cuda)\"",
            "podagent.versions.mmcv=\"\(v.mmcv)\"",
        ]
        if let mmdet = v.mmdet { labels.append("podagent.versions.mmdet=\"\(mmdet)\"") }
        if let mmdet3d = v.mmdet3d { labels.append("podagent.versions.mmdet3d=\"\(mmdet3d)\"") }
        for companion in facts.environment.repositories {
            labels.append("podagent.companion.\(Self.labelKey(companion.path)).commit=\"\(companion.commit)\"")
        }
        var lines = [
            "# What changes most comes last: podagent, then the plugin runtime and this model's plugin folder.",
            "COPY --from=builder /podagent \(layout.binary)",
            "COPY Plugins/read_config.py Plugins/openlane_pickle.py \(layout.pluginsDir)/",
            "COPY Plugins/runtime \(layout.pluginsDir)/runtime",
            "COPY \(pluginRelative) \(layout.pluginsDir)/\(m.name)",
            "# State (host keys, jobs) lives on /workspace: RunPod's volume, a PersistentVolumeClaim under Kubernetes.",
            "# No USER: podagent stays root to run sshd, and starts every model worker as \(layout.loginUser) (docs/images.md).",
            "WORKDIR \(layout.workspace)",
            "ENV PODAGENT_PLUGINS_DIR=\(layout.pluginsDir) \\",
            "    PODAGENT_MODELS=\(m.name) \\",
            "    PODAGENT_HTTP_PORT=\(layout.apiPort) \\",
            "    PODAGENT_SSH_PORT=\(layout.sshPort) \\",
            "    PODAGENT_SSH_USER=\(layout.loginUser)",
        ]
        lines.append("LABEL " + labels.enumerated().map { $0.offset == 0 ? $0.element : "      " + $0.element }.joined(separator: " \\\n"))
        lines += [
            "EXPOSE \(layout.sshPort)/tcp \(layout.apiPort)/tcp",
            "HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD [\"podagent\", \"health\", \"--live\"]",
            "ENTRYPOINT [\"podagent\", \"run\"]",
        ]
        return lines
    }

    /// A path as a label key part: `mmdetection3d`, `OpenLane-V2` → `openlane-v2`.
    static func labelKey(_ path: String) -> String {
        String(path.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    }

    /// The manifest's folder relative to the repository root (`Plugins/<folder>`), which is the build context.
    static func pluginFolder(_ manifest: PluginManifest) -> String {
        let parts = manifest.sourcePath.split(separator: "/")
        guard parts.count >= 2 else { return "Plugins/\(manifest.name)" }
        return "Plugins/\(parts[parts.count - 2])"
    }
}

/// The manifest's values checked for use in a recipe: a full commit, safe strings, an environment
/// whose summary (`versions`) agrees with what it installs.
struct ManifestFacts {
    let commit: String
    let environment: PluginManifest.Environment

    init(_ m: PluginManifest) throws(AgentError) {
        let source = m.sourcePath
        func fail(_ key: String, _ problem: String) -> AgentError {
            AgentError(.invalidConfig, "\(source): key '\(key)': \(problem)")
        }
        let commit = m.upstream.commit.lowercased()
        guard commit.count == 40, commit.allSatisfy(\.isHexDigit) else {
            throw fail("upstream.commit", "expected a full 40-hex commit hash, got '\(commit)': an image is only built from exactly one commit, never a short hash, branch or tag")
        }
        self.commit = commit
        let repository = m.upstream.repository
        guard Self.isSafeURL(repository) else {
            throw fail("upstream.repository", "expected an https:// URL without spaces or shell characters, got '\(repository)'")
        }
        let v = m.versions
        guard !v.baseImage.isEmpty, v.baseImage.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "./:_@-".contains($0)) }) else {
            throw fail("versions.base_image", "expected an image reference like nvidia/cuda:11.1.1-cudnn8-devel-ubuntu20.04, got '\(v.baseImage)'")
        }
        let versionKeys: [(String, String?)] = [
            ("versions.pytorch", v.pytorch), ("versions.cuda", v.cuda), ("versions.mmcv", v.mmcv),
            ("versions.mmdet", v.mmdet), ("versions.mmdet3d", v.mmdet3d),
        ]
        for (key, value) in versionKeys {
            guard let value else { continue }
            guard let first = value.first, first.isNumber, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".+-".contains($0)) }) else {
                throw fail(key, "expected a version like 1.4.0, got '\(value)'")
            }
        }
        guard let environment = m.environment else {
            throw fail("environment", "missing: an image is built from the model's whole environment (python, packages, repositories, ops; docs/images.md)")
        }
        self.environment = environment
        for (index, companion) in environment.repositories.enumerated() where !Self.isSafeURL(companion.repository) {
            throw fail("environment.repositories[\(index)].repository", "expected an https:// URL without spaces or shell characters, got '\(companion.repository)'")
        }
        // The summary must say what the environment installs: labels and `podagent plugins` show it.
        let summary: [(key: String, module: String, value: String?)] = [
            ("versions.pytorch", "torch", v.pytorch), ("versions.mmcv", "mmcv", v.mmcv),
            ("versions.mmdet", "mmdet", v.mmdet), ("versions.mmdet3d", "mmdet3d", v.mmdet3d),
        ]
        for (key, module, value) in summary {
            let installed = environment.version(of: module)
            guard installed == value else {
                let what = installed.map { "the environment installs \(module) \($0)" } ?? "the environment installs no \(module)"
                throw fail(key, "says \(value ?? "nothing") but \(what)")
            }
        }
        if let torch = environment.packages.first(where: { $0.name == "torch" }), let local = torch.version.split(separator: "+").dropFirst().first {
            let expected = "cu" + v.cuda.replacingLiteral(".", with: "")
            guard local == expected else {
                throw fail("versions.cuda", "says \(v.cuda) but torch \(torch.version) is built for \(local)")
            }
        }
        // mmcv-full's prebuilt wheels live on OpenMMLab's page for this torch/CUDA pair (docs/images.md).
        if let mmcv = environment.packages.first(where: { $0.name == "mmcv-full" }), let links = mmcv.findLinks {
            let expected = try OpenMMLabWheels.indexURL(pytorch: v.pytorch, cuda: v.cuda, source: source)
            guard links == expected else {
                throw fail("environment.packages (mmcv-full)", "find_links \(links) is not OpenMMLab's page for torch \(v.pytorch) and CUDA \(v.cuda): \(expected)")
            }
        }
    }

    static func isSafeURL(_ url: String) -> Bool {
        url.hasPrefix("https://") && url.allSatisfy({ $0.isASCII && !$0.isWhitespace && !"'\"\\`$;&|<>".contains($0) })
    }
}
