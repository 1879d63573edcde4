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
import Synchronization
import PodAgentExtras

/// Reads GPUs through NVML, loaded at run time with `dlopen` so podagent starts on hosts without a driver.
///
/// NVML calls run on a thread of their own: a call that hangs in the driver is abandoned after the
/// timeout, and no new call starts until it returns.
public final class NVMLProbe: GPUProbe, Sendable {
    public static let defaultLibrary = "libnvidia-ml.so.1"

    private typealias InitFn = @convention(c) () -> Int32
    private typealias CountFn = @convention(c) (UnsafeMutablePointer<UInt32>) -> Int32
    private typealias HandleFn = @convention(c) (UInt32, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias StringFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>, UInt32) -> Int32
    private typealias MemoryFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt64>) -> Int32
    private typealias MemoryV2Fn = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer) -> Int32
    private typealias UtilizationFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt32>) -> Int32
    private typealias TemperatureFn = @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<UInt32>) -> Int32
    private typealias ProcessesFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt32>, UnsafeMutableRawPointer?) -> Int32
    private typealias ErrorStringFn = @convention(c) (Int32) -> UnsafePointer<CChar>?

    private struct Functions: @unchecked Sendable {
        // @unchecked: C function pointers into a library that stays loaded for the process's life.
        let initialize: InitFn
        let count: CountFn
        let handle: HandleFn
        let name: StringFn
        let uuid: StringFn
        let memory: MemoryFn
        /// `nvmlDeviceGetMemoryInfo_v2`: "used" without the driver's reserved memory, as nvidia-smi shows it.
        let memoryV2: MemoryV2Fn?
        let utilization: UtilizationFn
        let temperature: TemperatureFn
        let processes: ProcessesFn?
        /// Bytes per process record: 24 for `_v2`/`_v3`, 16 for the original call.
        let processRecordSize: Int
        let errorString: ErrorStringFn?
    }

    private let functions: Functions
    private let timeout: Duration
    private let busy = Mutex(false)

    private init(functions: Functions, timeout: Duration) {
        self.functions = functions
        self.timeout = timeout
    }

    /// Loads NVML; fails with the reason (the library is missing, a symbol is missing).
    public static func load(library: String, timeout: Duration) -> Result<NVMLProbe, AgentError> {
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "not found"
            return .failure(AgentError(.unavailable, "NVML (\(library)) not loadable: \(reason)"))
        }
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            guard let pointer = dlsym(handle, name) else { return nil }
            return unsafeBitCast(pointer, to: type)
        }
        guard
            let initialize = symbol("nvmlInit_v2", as: InitFn.self),
            let count = symbol("nvmlDeviceGetCount_v2", as: CountFn.self),
            let deviceHandle = symbol("nvmlDeviceGetHandleByIndex_v2", as: HandleFn.self),
            let name = symbol("nvmlDeviceGetName", as: StringFn.self),
            let uuid = symbol("nvmlDeviceGetUUID", as: StringFn.self),
            let memory = symbol("nvmlDeviceGetMemoryInfo", as: MemoryFn.self),
            let utilization = symbol("nvmlDeviceGetUtilizationRates", as: UtilizationFn.self),
            let temperature = symbol("nvmlDeviceGetTemperature", as: TemperatureFn.self)
        else {
            return .failure(AgentError(.unavailable, "NVML (\(library)) lacks a required function"))
        }
        var processes = symbol("nvmlDeviceGetComputeRunningProcesses_v3", as: ProcessesFn.self)
            ?? symbol("nvmlDeviceGetComputeRunningProcesses_v2", as: ProcessesFn.self)
        var recordSize = 24
        if processes == nil {
            processes = symbol("nvmlDeviceGetComputeRunningProcesses", as: ProcessesFn.self)
            recordSize = 16
        }
        let functions = Functions(
            initialize: initialize, count: count, handle: deviceHandle, name: name, uuid: uuid, memory: memory,
            memoryV2: symbol("nvmlDeviceGetMemoryInfo_v2", as: MemoryV2Fn.self),
            utilization: utilization, temperature: temperature, processes: processes, processRecordSize: recordSize,
            errorString: symbol("nvmlErrorString", as: ErrorStringFn.self))
        return .success(NVMLProbe(functions: functions, timeout: timeout))
    }

    public func read() async -> GPUReport {
        let started = busy.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard started else { return .unavailable("an earlier NVML call has not returned (driver hung?)", source: "nvml") }
        let outcome = OneShot<GPUReport>()
        return await withCheckedContinuation { continuation in
            outcome.arm(continuation)
            NativeThread.start(name: "podagent-nvml") { [self] in
                let report = Self.readDevices(functions)
                busy.withLock { $0 = false }
                outcome.resume(report)
            }
            let timeout = self.timeout
            Task {
                try? await Task.sleep(for: timeout)
                outcome.resume(.unavailable("NVML did not answer within \(timeout)", source: "nvml"))
            }
        }
    }

    private static func readDevices(_ f: Functions) -> GPUReport {
        func message(_ code: Int32) -> String {
            f.errorString?(code).map { String(cString: $0) } ?? "NVML error \(code)"
        }
        var rc = f.initialize()
        guard rc == 0 else { return .unavailable("nvmlInit failed: \(message(rc))", source: "nvml") }
        var count: UInt32 = 0
        rc = f.count(&count)
        guard rc == 0 else { return .unavailable("nvmlDeviceGetCount failed: \(message(rc))", source: "nvml") }
        var devices: [GPUDevice] = []
        for index in 0..<count {
            var device: OpaquePointer?
            guard f.handle(index, &device) == 0 else { continue }
            let name = string(f.name, device) ?? "unknown"
            let uuid = string(f.uuid, device) ?? "unknown"
            // (total, free, used) in bytes.
            var memory: [UInt64] = [0, 0, 0]
            var memoryOK = false
            if let v2 = f.memoryV2 {
                // nvmlMemory_v2_t: version (u32, padded), total, reserved, free, used (u64 bytes).
                let raw = UnsafeMutableRawPointer.allocate(byteCount: 40, alignment: 8)
                defer { raw.deallocate() }
                raw.initializeMemory(as: UInt8.self, repeating: 0, count: 40)
                raw.storeBytes(of: UInt32(40) | (2 << 24), as: UInt32.self)
                if v2(device, raw) == 0 {
                    memory = [raw.load(fromByteOffset: 8, as: UInt64.self), raw.load(fromByteOffset: 24, as: UInt64.self),
                              raw.load(fromByteOffset: 32, as: UInt64.self)]
                    memoryOK = true
                }
            }
            if !memoryOK {
                // nvmlMemory_t: total, free, used (bytes); "used" here includes the driver's reserved memory.
                memoryOK = memory.withUnsafeMutableBufferPointer { buffer in
                    buffer.baseAddress.map { f.memory(device, $0) == 0 } ?? false
                }
            }
            // nvmlUtilization_t: gpu, memory (percent).
            var utilization: [UInt32] = [0, 0]
            let utilizationOK = utilization.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress.map { f.utilization(device, $0) == 0 } ?? false
            }
            var temperature: UInt32 = 0
            let temperatureOK = f.temperature(device, 0, &temperature) == 0
            let mib = 1024.0 * 1024.0
            devices.append(
                GPUDevice(
                    index: Int(index), name: name, uuid: uuid,
                    memory_total_mib: memoryOK ? Double(memory[0]) / mib : nil,
                    memory_used_mib: memoryOK ? Double(memory[2]) / mib : nil,
                    memory_free_mib: memoryOK ? Double(memory[1]) / mib : nil,
                    utilization_percent: utilizationOK ? Double(utilization[0]) : nil,
                    temperature_c: temperatureOK ? Double(temperature) : nil,
                    processes: processes(f, device)))
        }
        return GPUReport(available: !devices.isEmpty, source: "nvml", reason: devices.isEmpty ? "NVML lists no GPU" : nil, devices: devices)
    }

    private static func string(_ fn: StringFn, _ device: OpaquePointer?) -> String? {
        var buffer = [CChar](repeating: 0, count: 96)
        let rc = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.baseAddress.map { fn(device, $0, UInt32(pointer.count)) } ?? -1
        }
        guard rc == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func processes(_ f: Functions, _ device: OpaquePointer?) -> [GPUProcess] {
        guard let call = f.processes else { return [] }
        let size = f.processRecordSize
        var capacity: UInt32 = 64
        // NVML_ERROR_INSUFFICIENT_SIZE (7) sets `count` to what is needed; processes may start in between, so retry a few times.
        for _ in 0..<4 {
            var count = capacity
            let raw = UnsafeMutableRawPointer.allocate(byteCount: Int(capacity) * size, alignment: 8)
            defer { raw.deallocate() }
            let rc = call(device, &count, raw)
            if rc == 7 {
                capacity = max(capacity * 2, count + 16)
                continue
            }
            guard rc == 0 else { return [] }
            return records(raw, count: min(count, capacity), size: size)
        }
        return []
    }

    private static func records(_ raw: UnsafeMutableRawPointer, count: UInt32, size: Int) -> [GPUProcess] {
        // Record layout: pid (u32), padding, usedGpuMemory (u64 bytes), then instance ids in the newer calls.
        return (0..<Int(count)).map { index in
            let record = raw.advanced(by: index * size)
            let pid = record.load(as: UInt32.self)
            let used = record.load(fromByteOffset: 8, as: UInt64.self)
            // NVML reports "not available" as all ones.
            let mib: Double? = used == UInt64.max ? nil : Double(used) / (1024 * 1024)
            return GPUProcess(pid: Int32(bitPattern: pid), used_mib: mib)
        }
    }
}

/// A continuation resumed by whichever of several racers comes first; later resumes are dropped.
final class OneShot<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, Never>?>(nil)

    func arm(_ continuation: CheckedContinuation<Value, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(_ value: Value) {
        continuation.withLock { $0.take() }?.resume(returning: value)
    }
}
