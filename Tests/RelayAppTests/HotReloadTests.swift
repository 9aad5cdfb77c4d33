// Hot reload over real HTTP: by file change, SIGHUP and the admin API; invalid tables keep the running
// one; load across reloads sees no 5xx; a removed destination's backlog becomes replayable dead letters.
import Foundation
import RelayTestSupport
import Testing

@Suite(.serialized)
struct HotReloadTests {
    @Test func aChangedFileIsAppliedWithinASecond() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaOnly)
        defer { ops.stop() }
        #expect(await ops.notify("/hooks/second").status == 404)
        try ops.rewrite(Tables.secondSource)
        let started = ContinuousClock.now
        let served = await eventually(timeout: .seconds(3)) { await ops.notify("/hooks/second").status == 200 }
        #expect(served, "the new source serves after the file changed:\n\(ops.relay.log(tail: 10))")
        #expect(ContinuousClock.now - started < .seconds(1.5))
        // The new destination delivers what the new route sends it.
        #expect(try await eventually { try await !ops.delivered(to: "/b").isEmpty })
        #expect(try await ops.metric("relay_config_reloads_total{outcome=\"applied\"}") == 1)
    }

    @Test func aConfigMapStyleSymlinkSwapIsNoticed() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaOnly)
        defer { ops.stop() }
        // The kubelet's layout: routes.yaml -> ..data/routes.yaml, ..data -> ..<timestamp>/, swapped by rename.
        let directory = (ops.configPath as NSString).deletingLastPathComponent
        let files = FileManager.default
        func version(_ name: String, _ routes: String) throws {
            try files.createDirectory(atPath: "\(directory)/\(name)", withIntermediateDirectories: true)
            try routes.replacingOccurrences(of: "DEST", with: ops.destination.baseURL)
                .write(toFile: "\(directory)/\(name)/routes.yaml", atomically: true, encoding: .utf8)
            try? files.removeItem(atPath: "\(directory)/..data_tmp")
            try files.createSymbolicLink(atPath: "\(directory)/..data_tmp", withDestinationPath: name)
            #expect(rename("\(directory)/..data_tmp", "\(directory)/..data") == 0)
        }
        try version("..v1", Tables.alphaOnly)
        try files.createSymbolicLink(atPath: "\(directory)/routes.link", withDestinationPath: "..data/routes.yaml")
        #expect(rename("\(directory)/routes.link", ops.configPath) == 0)
        try await Task.sleep(for: .milliseconds(600))
        #expect(await ops.notify("/hooks/second").status == 404)
        try version("..v2", Tables.secondSource)
        #expect(await eventually(timeout: .seconds(3)) { await ops.notify("/hooks/second").status == 200 },
                "\(ops.relay.log(tail: 10))")
    }

    @Test func sighupReloadsAndNeverEndsTheRelay() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaOnly, extraArguments: ["--config-poll", "0"])
        defer { ops.stop() }
        try ops.rewrite(Tables.secondSource)
        try await Task.sleep(for: .seconds(1))
        #expect(await ops.notify("/hooks/second").status == 404, "with the watch off only a signal reloads")
        kill(ops.relay.process.processIdentifier, SIGHUP)
        #expect(await eventually(timeout: .seconds(3)) { await ops.notify("/hooks/second").status == 200 })
        kill(ops.relay.process.processIdentifier, SIGHUP)
        try await Task.sleep(for: .milliseconds(300))
        #expect(ops.relay.process.isRunning)
        #expect(ops.relay.log(tail: 50).contains("\"trigger\":\"SIGHUP\""))
    }

    @Test func theAdminAPIReloadsAndAnInvalidFileKeepsTheRunningTable() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaOnly, extraArguments: ["--config-poll", "0"])
        defer { ops.stop() }
        try ops.rewrite(Tables.invalid)
        let rejected = try await ops.admin("POST", "/admin/reload")
        #expect(rejected.status == 422)
        #expect(rejected.json["outcome"] as? String == "rejected")
        let errors = rejected.json["errors"] as? [String] ?? []
        #expect(errors.contains { $0.contains("routes.yaml:5:54:") && $0.contains("colour") }, "\(errors)")
        #expect(await ops.notify().status == 200, "the old table still serves")
        #expect(try await eventually { try await ops.delivered(to: "/a").count == 1 })
        #expect(try await ops.metric("relay_config_reloads_total{outcome=\"rejected\"}") == 1)
        #expect(ops.relay.log(tail: 20).contains("reload rejected"))

        try ops.rewrite(Tables.secondSource)
        let applied = try await ops.admin("POST", "/admin/reload")
        #expect(applied.status == 200)
        #expect(applied.json["outcome"] as? String == "applied")
        let changes = applied.json["changes"] as? [String] ?? []
        #expect(changes.contains("sources added: second"), "\(changes)")
        #expect(changes.contains("destinations added: beta"), "\(changes)")
        #expect(await ops.notify("/hooks/second").status == 200)
    }

    @Test func requestsAcrossTenReloadsGetNo5xxAndNoDroppedConnection() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaOnly, extraArguments: ["--config-poll", "0"])
        defer { ops.stop() }
        let load = Task {
            try await withThrowingTaskGroup(of: (ok: Int, other: [Int], dropped: Int).self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var (ok, other, dropped) = (0, [Int](), 0)
                        while !Task.isCancelled {
                            switch await ops.notify().status {
                            case 200?: ok += 1
                            case let status?: other.append(status)
                            case nil: dropped += 1
                            }
                        }
                        return (ok, other, dropped)
                    }
                }
                var total = (ok: 0, other: [Int](), dropped: 0)
                for try await part in group {
                    total.ok += part.ok
                    total.other += part.other
                    total.dropped += part.dropped
                }
                return total
            }
        }
        for round in 0..<10 {
            try ops.rewrite(round % 2 == 0 ? Tables.alphaAndBeta : Tables.alphaOnly)
            let answer = try await ops.admin("POST", "/admin/reload")
            #expect(answer.status == 200, "reload \(round): \(answer.bodyText)")
            try await Task.sleep(for: .milliseconds(150))
        }
        load.cancel()
        let total = try await load.value
        #expect(total.ok > 50, "the load ran: \(total.ok) accepted")
        #expect(total.other.isEmpty, "statuses other than 200: \(total.other)")
        #expect(total.dropped == 0, "\(total.dropped) requests got no answer")
        #expect(try await ops.metric("relay_config_reloads_total{outcome=\"applied\"}") == 10)
    }

    @Test func aChangedDestinationUsesItsNewSettingsForItsNextDeliveries() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaOnly, extraArguments: ["--config-poll", "0"])
        defer { ops.stop() }
        #expect(await ops.notify().status == 200)
        #expect(try await eventually { try await ops.delivered(to: "/a").count == 1 })
        try ops.rewrite(Tables.alphaOnly.replacingOccurrences(of: "DEST/a", with: "DEST/moved"))
        let answer = try await ops.admin("POST", "/admin/reload")
        #expect((answer.json["changes"] as? [String])?.contains("destinations changed: alpha") == true, "\(answer.bodyText)")
        #expect(await ops.notify().status == 200)
        #expect(try await eventually { try await ops.delivered(to: "/moved").count == 1 })
        #expect(try await ops.delivered(to: "/a").count == 1)
    }

    @Test func aRemovedDestinationsBacklogBecomesDeadLettersThatReplayWhenItReturns() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaAndBeta, extraArguments: ["--config-poll", "0"])
        defer { ops.stop() }
        // Paused, beta keeps its deliveries pending.
        #expect(try await ops.admin("POST", "/admin/destinations/beta/pause").status == 200)
        var references: [String] = []
        for _ in 0..<5 {
            let (status, reference) = await ops.notify()
            #expect(status == 200)
            references.append(reference)
        }
        #expect(try await eventually { try await ops.delivered(to: "/a").count == 5 })
        try ops.rewrite(Tables.alphaOnly)
        #expect(try await ops.admin("POST", "/admin/reload").status == 200)
        let dead = try await ops.admin("GET", "/admin/dead?destination=beta")
        let letters = (try JSONSerialization.jsonObject(with: Data(dead.body)) as? [[String: Any]]) ?? []
        #expect(letters.count == 5, "\(dead.bodyText)")
        #expect(letters.allSatisfy { $0["reason"] as? String == "destination removed" }, "\(dead.bodyText)")
        #expect(try await ops.delivered(to: "/b").isEmpty)

        // beta comes back (not paused any more: a removed destination's pause goes with it), then replay.
        try ops.rewrite(Tables.alphaAndBeta)
        #expect(try await ops.admin("POST", "/admin/reload").status == 200)
        let replay = try await ops.admin("POST", "/admin/dead/replay", json: #"{"destination":"beta"}"#)
        #expect(replay.status == 200)
        #expect(replay.json["requeued"] as? Int == 5)
        #expect(try await eventually { try await ops.delivered(to: "/b").count == 5 })
        #expect(try await ops.delivered(to: "/b") == references, "replayed in acceptance order")
    }
}
