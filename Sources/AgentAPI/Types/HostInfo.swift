/// The host facts /health reports: CPUs, load, memory, disks. Unreadable facts are left out rather than guessed.
public struct HostInfo: Sendable, Codable, Equatable {
    /// One file system: the path asked about, its size and what is free for unprivileged users.
    public struct Disk: Sendable, Codable, Equatable {
        public var path: String
        public var total_bytes: UInt64
        public var free_bytes: UInt64

        public init(path: String, total_bytes: UInt64, free_bytes: UInt64) {
            (self.path, self.total_bytes, self.free_bytes) = (path, total_bytes, free_bytes)
        }
    }

    public var cpu_count: Int
    /// The 1, 5 and 15 minute load averages.
    public var load_average: [Double]
    public var memory_total_bytes: UInt64?
    public var memory_available_bytes: UInt64?
    public var disks: [Disk]

    public init(cpu_count: Int, load_average: [Double], memory_total_bytes: UInt64?, memory_available_bytes: UInt64?, disks: [Disk]) {
        self.cpu_count = cpu_count
        self.load_average = load_average
        self.memory_total_bytes = memory_total_bytes
        self.memory_available_bytes = memory_available_bytes
        self.disks = disks
    }
}
