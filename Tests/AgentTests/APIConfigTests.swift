import Foundation
import Testing

@testable import Agent

@Suite("Config: the api.* and jobs.* keys")
struct APIConfigTests {
    @Test func defaults() throws {
        let config = try ConfigLoader(file: nil, environment: [:]).load()
        #expect(config.api.tokenFile == nil)
        #expect(config.api.metricsPublic == false)
        #expect(config.api.maxBodyMiB == 64)
        #expect(config.api.dataRoots == ["/workspace", "/data"])
        #expect(config.jobs.concurrency == 2 && config.jobs.maxQueued == 1000 && config.jobs.maxKept == 1000 && config.jobs.retentionHours == 168)
    }

    @Test func fromYAMLAndEnvironment() throws {
        let directory = try TestSupport.temporaryDirectory("api-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/podagent.yaml"
        try """
            api:
              token_file: /run/secrets/token
              metrics_public: true
              data_roots:
                - /mnt/a
                - /mnt/b
            jobs:
              concurrency: 4
              retention_hours: 1.5
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let environment = ["PODAGENT_MAX_BODY_MIB": "8", "PODAGENT_JOBS_MAX_QUEUED": "7", "PODAGENT_JOBS_MAX_KEPT": "9", "PODAGENT_TOKEN": "x"]
        let loader = ConfigLoader(file: file, environment: environment)
        let config = try loader.load()
        #expect(config.api.tokenFile == "/run/secrets/token")
        #expect(config.api.metricsPublic)
        #expect(config.api.dataRoots == ["/mnt/a", "/mnt/b"])
        #expect(config.api.maxBodyMiB == 8 && config.api.maxBodyBytes == 8 * 1024 * 1024)
        #expect(config.jobs.concurrency == 4 && config.jobs.retentionHours == 1.5 && config.jobs.maxQueued == 7 && config.jobs.maxKept == 9)
        #expect(loader.unknownEnvironment.isEmpty, "PODAGENT_TOKEN is known")
        let roots = try ConfigLoader(file: nil, environment: ["PODAGENT_DATA_ROOTS": "/x, /y"]).load()
        #expect(roots.api.dataRoots == ["/x", "/y"])
    }

    @Test func badValuesNameTheKey() {
        for (variable, value, key) in [("PODAGENT_MAX_BODY_MIB", "0", "api.max_body_mib"), ("PODAGENT_DATA_ROOTS", "data", "api.data_roots"),
                                       ("PODAGENT_JOBS_CONCURRENCY", "many", "jobs.concurrency"), ("PODAGENT_METRICS_PUBLIC", "maybe", "api.metrics_public")] {
            do {
                _ = try ConfigLoader(file: nil, environment: [variable: value]).load()
                Issue.record("\(variable)=\(value) was accepted")
            } catch {
                #expect(error.message.contains(key) && error.message.contains(variable), "\(error.message)")
            }
        }
    }
}
