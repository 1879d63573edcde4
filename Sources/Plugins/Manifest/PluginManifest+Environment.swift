import PodAgentExtras

extension PluginManifest {
    /// A model's whole software environment, as its upstream repository's install instructions
    /// state it at the pinned commit: what `podagent image dockerfile` builds (docs/images.md).
    ///
    /// Every entry carries `cite`: the upstream file (and step) it comes from, or why it was chosen
    /// where upstream names no version. `versions` stays the short summary; the generator checks
    /// that it agrees with this.
    public struct Environment: Sendable, Equatable, Codable {
        /// The Python the model runs on (a virtual environment made from the base image's `pythonX.Y`).
        public struct Python: Sendable, Equatable, Codable {
            /// `major.minor`, e.g. `3.8`.
            public var version: String
            public var cite: String
        }

        /// A Debian/Ubuntu package from the base image's apt sources (no version: the base's release pins it).
        public struct SystemPackage: Sendable, Equatable, Codable {
            public var name: String
            public var cite: String
        }

        /// The CUDA architectures CUDA code compiled in the image targets (TORCH_CUDA_ARCH_LIST),
        /// e.g. `["7.0", "8.0", "8.6+PTX"]`; the worker compares them with its GPU at load.
        public struct Architectures: Sendable, Equatable, Codable {
            public var targets: [String]
            public var cite: String
        }

        /// One pip package at an exact version.
        public struct Package: Sendable, Equatable, Codable {
            public var name: String
            /// Exact, `==` (local versions such as `1.9.1+cu111` included).
            public var version: String
            /// pip `-f`: a page of links (PyTorch's and OpenMMLab's wheel pages).
            public var findLinks: String?
            /// pip `--index-url`, replacing PyPI.
            public var indexURL: String?
            /// pip `--extra-index-url`, besides PyPI.
            public var extraIndexURL: String?
            /// Top-level Python modules it provides; nil: its name in lower case with `-` as `_`.
            public var modules: [String]?
            /// Built from source with the installed torch (its setup.py imports torch): no build isolation.
            public var noBuildIsolation: Bool
            /// The architectures its own CUDA kernels run on, when narrower than `cuda_architectures`
            /// (flash-attn 0.2.2: sm_75 and sm_80 code only).
            public var cudaArchitectures: [String]?
            public var cite: String

            /// The modules this package provides.
            public var providedModules: [String] { modules ?? [name.lowercased().replacingLiteral("-", with: "_")] }

            enum CodingKeys: String, CodingKey {
                case name, version, modules, cite
                case findLinks = "find_links"
                case indexURL = "index_url"
                case extraIndexURL = "extra_index_url"
                case noBuildIsolation = "no_build_isolation"
                case cudaArchitectures = "cuda_architectures"
            }
        }

        /// Another repository at a pinned commit, checked out inside the model's folder where its
        /// config or docs expect it (PETR's `mmdetection3d/`), optionally installed in develop mode.
        public struct Repository: Sendable, Equatable, Codable {
            /// Inside the model's folder, e.g. `mmdetection3d`.
            public var path: String
            public var repository: String
            /// The full 40-hex commit.
            public var commit: String
            /// The tag the commit is (informational; `version` below is what is compared).
            public var tag: String?
            /// The version of the code at that commit (e.g. `0.17.1`), for `versions`.
            public var version: String?
            /// `pip install --no-deps -e` (what `setup.py develop` does); its requirements are packages above.
            public var develop: Bool
            public var modules: [String]
            public var cite: String
        }

        /// A folder of the model's own repository installed in develop mode (MapTR's vendored mmdetection3d).
        public struct Develop: Sendable, Equatable, Codable {
            public var path: String
            public var version: String?
            public var modules: [String]
            public var cite: String
        }

        /// A CUDA op of the model's repository built with its `setup.py build install` (MapTR's GKT).
        public struct Op: Sendable, Equatable, Codable {
            public var path: String
            public var modules: [String]
            /// Its setup.py refuses to build unless `torch.cuda.is_available()`, which no image build can
            /// satisfy (no GPU): the build runs it with that answer forced to True.
            public var setupAsksForAGPU: Bool
            public var cite: String

            enum CodingKeys: String, CodingKey {
                case path, modules, cite
                case setupAsksForAGPU = "setup_asks_for_a_gpu"
            }
        }

        public var python: Python
        public var systemPackages: [SystemPackage]
        public var cudaArchitectures: Architectures
        /// pip, setuptools, wheel: installed first, pinned like the rest.
        public var buildTools: [Package]
        /// In install order; each `pip install` is constrained to every pin here, so none moves another.
        public var packages: [Package]
        public var repositories: [Repository]
        public var develop: [Develop]
        public var ops: [Op]

        enum CodingKeys: String, CodingKey {
            case python, packages, repositories, develop, ops
            case systemPackages = "system_packages"
            case cudaArchitectures = "cuda_architectures"
            case buildTools = "build_tools"
        }

        /// Who provides `module`: a package, a repository, a develop install or an op (its description), or nil.
        public func provider(of module: String) -> String? {
            if let package = packages.first(where: { $0.providedModules.contains(module) }) { return "pip \(package.name)==\(package.version)" }
            if let repository = repositories.first(where: { $0.modules.contains(module) }) { return "\(repository.repository) at \(repository.path)" }
            if let folder = develop.first(where: { $0.modules.contains(module) }) { return "develop install of \(folder.path)" }
            if let op = ops.first(where: { $0.modules.contains(module) }) { return "op built from \(op.path)" }
            return nil
        }

        /// The version of what provides `module`, for the `versions` summary (local labels like `+cu111` dropped).
        public func version(of module: String) -> String? {
            if let package = packages.first(where: { $0.providedModules.contains(module) }) {
                return String(package.version.split(separator: "+").first ?? "")
            }
            if let repository = repositories.first(where: { $0.modules.contains(module) }) { return repository.version }
            if let folder = develop.first(where: { $0.modules.contains(module) }) { return folder.version }
            return nil
        }

        /// What the worker compares with its GPU: each component's architectures, by name.
        public var declaredArchitectures: [String: [String]] {
            var declared = ["CUDA ops built in the image": cudaArchitectures.targets]
            for package in packages {
                if let targets = package.cudaArchitectures { declared["\(package.name) \(package.version)"] = targets }
            }
            return declared
        }
    }
}
