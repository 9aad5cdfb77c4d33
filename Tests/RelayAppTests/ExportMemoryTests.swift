// A 1 GiB (uncompressed) export streams through the relay with a flat, small resident set.
import Foundation
import Logging
import RelayKafka
import RelayTestSupport
import Testing

@Suite(.serialized) struct ExportMemoryTests {
    /// Uncompressed size of the export: `members` gzip members of 1 MiB of JSON Lines each.
    static let members = 1024
    static let limitBytes = 128 << 20

    /// Writes `members` copies of one gzip member holding 1 MiB of ~1 KiB profile records (gzip
    /// allows concatenated members), so a 1 GiB export costs a few MB of disk and no time to make.
    static func writeExport(to path: String) async throws {
        let script = """
            import gzip, sys
            lines = []
            size = 0
            i = 0
            while size < 1 << 20:
                pad = "x" * 900
                line = '{"profileId":"p%06d","email":"user%06d@example.com","tier":"gold","attributes":{"notes":"%s"}}\\n' % (i, i, pad)
                if size + len(line) > 1 << 20:
                    line = line[: (1 << 20) - size - 1] + "\\n" if False else '{"profileId":"last","pad":"%s"}\\n' % ("y" * ((1 << 20) - size - 30))
                lines.append(line)
                size += len(line)
                i += 1
            member = gzip.compress("".join(lines).encode(), 6)
            with open(sys.argv[1], "wb") as f:
                for _ in range(int(sys.argv[2])):
                    f.write(member)
            print(len("".join(lines).encode()), len(lines), len(member))
            """
        let out = try await Subprocess.run("python3", ["-c", script, path, "\(members)"])
        FileHandle.standardError.write(Data("memory test export: member of \(out.trimmingCharacters(in: .whitespacesAndNewlines)) (bytes, records, gzip bytes) x \(members)\n".utf8))
    }

    /// VmHWM (peak resident set) of a process, in bytes.
    static func peakRSS(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kib * 1024
    }

    @Test func aGibibyteExportStreamsInBoundedMemory() async throws {
        let logger = Logger(label: "memory-test") { _ in SwiftLogNoOpLogHandler() }
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("export-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let exportFile = work.appendingPathComponent("export.jsonl.gz").path
        try await Self.writeExport(to: exportFile)

        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export.jsonl.gz", UpstreamResponse(status: 200, headers: [(name: "Content-Type", value: "application/octet-stream")],
                                                                       body: .file(path: exportFile)))
        let config = work.appendingPathComponent("routes.yaml").path
        try """
            sources:
              sitecore:
                kind: sitecore-export
                path: /hooks/sitecore
                export: {allowHosts: [127.0.0.1], allowPlainHTTP: [127.0.0.1], allowPrivateAddresses: [127.0.0.1]}
            destinations:
              profiles: {type: kafka, brokers: "\(cluster.bootstrapServers)", topic: memory.profiles}
            routes:
              - {name: exports, source: sitecore, to: profiles, fetchExport: true, export: {key: "{{profileId}}"}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let dataDirectory = work.appendingPathComponent("data").path
        let outbox = OutboxFile(path: dataDirectory + "/outbox.sqlite")

        let relay = try await RelayProcess(config: config, dataDirectory: dataDirectory)
        let ref = UUID().uuidString.lowercased()
        let started = ContinuousClock.now
        let (status, _) = await relay.post("/hooks/sitecore", body: ExportCrashTests.notification(apiURL: upstream.url("/export.jsonl.gz"), ref: ref))
        #expect(status == 200)
        var state = ""
        var samples: [Int] = []
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            state = try await outbox.query("SELECT state, records_sent, bytes_received, last_error FROM export_jobs").first ?? ""
            if let rss = Self.peakRSS(of: relay.process.processIdentifier) { samples.append(rss) }
            if state.hasPrefix("2|") || state.hasPrefix("3|") { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let elapsed = ContinuousClock.now - started
        let peak = Self.peakRSS(of: relay.process.processIdentifier) ?? samples.max() ?? 0
        #expect(relay.terminate())
        let fields = state.split(separator: "|", omittingEmptySubsequences: false)
        let records = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
        print("""
            export memory test: \(Self.members) MiB uncompressed (\(records) records) streamed in \(elapsed); \
            relay peak RSS \(peak >> 20) MiB (limit \(Self.limitBytes >> 20) MiB); \
            peak RSS at 25/50/75 % of the run: \(samples.isEmpty ? "-" : [1, 2, 3].map { "\(samples[samples.count * $0 / 4] >> 20)" }.joined(separator: "/")) MiB
            """)
        #expect(state.hasPrefix("2|"), "job: \(state)\n\(relay.log(tail: 10))")
        #expect(peak > 0 && peak < Self.limitBytes)
    }
}
