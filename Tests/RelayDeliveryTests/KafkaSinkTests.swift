// The Kafka sink against librdkafka's mock cluster: CloudEvents messages, per-key order, faults, size limit, dead letters, interop.
import Foundation
import Logging
import RelayCore
import RelayDelivery
import RelayKafka
import RelayTestSupport
import Synchronization
import Testing

/// One test at a time: each starts its own 3-broker mock cluster, and the fault tests depend on
/// timing, so they should not compete for the two cores.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct KafkaSinkTests {
    typealias Fixture = KafkaSinkFixture

    static let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let realBrokers = ProcessInfo.processInfo.environment["KAFKA_BROKERS"].flatMap { $0.isEmpty ? nil : $0 }

    @Test func deliveredMessagesCarryKeyCloudEventsHeadersAndBody() async throws {
        let topic = Fixture.topic()
        let routeHeaders = [PlannedDelivery.Header(name: "x-route", value: "route-a"), .init(name: "x-tenant", value: "acme")]
        let items = (0..<20).map { index in
            Fixture.item(index, key: index == 19 ? nil : "key-\(index % 4)", subject: index.isMultiple(of: 2) ? "audience-\(index)" : nil,
                         headers: routeHeaders)
        }
        try await Fixture.withSink(KafkaDestination(brokers: "mock:3", topic: topic)) { sink, _, bootstrap in
            let outcomes = await sink.deliver(items)
            #expect(outcomes == Array(repeating: .delivered, count: items.count))

            let records = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: topic, expecting: items.count))
            #expect(records.count == items.count)
            var partitionsByKey: [String: Set<Int32>] = [:]
            for item in items {
                let record = try #require(records[item.eventID.rawValue])
                #expect(record.value == item.body)
                #expect(Fixture.text(record.key) == item.key)
                let expected = CloudEvents.attributes(of: item).map { ("ce_\($0.name)", $0.value) }
                    + [("content-type", "application/json"), ("x-route", "route-a"), ("x-tenant", "acme")]
                let actual = record.headers.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }
                #expect(actual.map(\.0) == expected.map(\.0))
                #expect(actual.map(\.1) == expected.map(\.1))
                if let key = item.key { partitionsByKey[key, default: []].insert(record.partition) }
            }
            #expect(Fixture.header(try #require(records["evt-0"]), "ce_subject") == "audience-0")
            #expect(Fixture.header(try #require(records["evt-1"]), "ce_subject") == nil)
            #expect(Fixture.header(try #require(records["evt-0"]), "ce_type") == "com.sitecore.cdp.audience-export.notification")
            #expect(partitionsByKey.count == 4)
            #expect(partitionsByKey.values.allSatisfy { $0.count == 1 }, "a key spread over partitions: \(partitionsByKey)")
        }
    }

    /// Export records go out as one message each: the record, its key, and the headers that name it.
    @Test func exportRecordsAreOneMessageEachWithTheirIdentityHeaders() async throws {
        let topic = Fixture.topic()
        let export = ExportIdentity(eventID: EventID(stored: "evt-x"), source: "sitecore", executionRef: ExecutionRef(stored: "6f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c"),
                                    notificationType: "com.sitecore.cdp.audience-export.notification", receivedAt: Date())
        let records = (0..<6).map { (index: Int) -> ExportRecord in
            // Records 3 and 4 come from a keyed export whose route renders another key: the profile id is a header.
            let profileID: String? = index == 3 || index == 4 ? "profile-\(index)" : nil
            let key: String? = index == 5 ? nil : "p\(index)"
            return ExportRecord(key: key, value: Array(#"{"profileId":"p\#(index)"}"#.utf8), fileIndex: 2,
                                recordIndex: Int64(100 + index), change: index.isMultiple(of: 2) ? "removed" : nil, profileID: profileID)
        }
        try await Fixture.withSink(KafkaDestination(brokers: "mock:3", topic: topic)) { sink, _, bootstrap in
            let outcomes = await sink.forward(ExportRecordBatch(export: export, records: records, maxRecordsPerRequest: 500, maxBytesPerRequest: 1 << 20))
            #expect(outcomes == Array(repeating: .delivered, count: records.count))
            let stored = try await Fixture.readBack(bootstrap, topic: topic, expecting: records.count)
            #expect(stored.count == records.count)
            for record in records {
                let message = try #require(stored.first { Fixture.header($0, "recordIndex") == "\(record.recordIndex)" })
                #expect(message.value == record.value)
                #expect(Fixture.text(message.key) == record.key)
                var expected: [(String, String)] = [("executionRef", export.executionRef.rawValue), ("fileIndex", "2"),
                                                    ("recordIndex", "\(record.recordIndex)")]
                if let change = record.change { expected.append(("change", change)) }
                if let profileID = record.profileID { expected.append(("profileId", profileID)) }
                let actual = message.headers.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }
                #expect(actual.map(\.0) == expected.map(\.0))
                #expect(actual.map(\.1) == expected.map(\.1))
            }
        }
    }

    @Test func perKeyOrderHoldsAcrossTenThousandItemsInBatches() async throws {
        let topic = Fixture.topic()
        let items = Fixture.items(count: 10_000, keys: 50)
        try await Fixture.withSink(KafkaDestination(brokers: "mock:3", topic: topic)) { sink, _, bootstrap in
            let outcomes = await Fixture.deliver(items, to: sink, batchSize: 500)
            #expect(Fixture.notDelivered(outcomes).isEmpty, "\(Fixture.notDelivered(outcomes).prefix(3))")

            let records = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: topic, expecting: items.count))
            #expect(records.count == items.count)
            var last: [String: (partition: Int32, offset: Int64)] = [:]
            for item in items {
                guard let key = item.key, let record = records[item.eventID.rawValue] else { continue }
                if let previous = last[key] {
                    #expect(record.partition == previous.partition, "key \(key) changed partition")
                    #expect(record.offset > previous.offset, "key \(key): \(item.eventID) out of order")
                }
                last[key] = (record.partition, record.offset)
            }
            #expect(last.count == 50)
        }
    }

    /// Batches started one after another and left running at once (as the dispatcher starts them) are
    /// built in parallel but reach the producer in the order they were started: per-key order holds.
    @Test func concurrentBatchesStartedInOrderKeepPerKeyOrder() async throws {
        let topic = Fixture.topic()
        let items = Fixture.items(count: 10_000, keys: 50)
        try await Fixture.withSink(KafkaDestination(brokers: "mock:3", topic: topic)) { sink, _, bootstrap in
            let outcomes = await withTaskGroup(of: [DeliveryOutcome].self, returning: [DeliveryOutcome].self) { group in
                for start in stride(from: 0, to: items.count, by: 250) {
                    let batch = Array(items[start..<start + 250])
                    group.addImmediateTask { await sink.deliver(batch) }
                }
                return await group.reduce(into: []) { $0 += $1 }
            }
            #expect(outcomes.count == items.count && Fixture.notDelivered(outcomes).isEmpty)
            let records = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: topic, expecting: items.count))
            var last: [String: Int64] = [:]
            for item in items {
                guard let key = item.key, let record = records[item.eventID.rawValue] else { continue }
                if let previous = last[key] { #expect(record.offset > previous, "key \(key): \(item.eventID) out of order") }
                last[key] = record.offset
            }
            #expect(last.count == 50)
        }
    }

    @Test func retriableProduceErrorsEndDeliveredExactlyOnce() async throws {
        let topic = Fixture.topic()
        let items = Fixture.items(count: 2000, keys: 40)
        try await Fixture.withSink(KafkaDestination(brokers: "mock:3", topic: topic)) { sink, cluster, bootstrap in
            #expect(await sink.deliver([Fixture.item(-1, key: "warm-up")]) == [.delivered])
            cluster.pushRequestErrors(apiKey: KafkaError.APIKey.produce, errors: [
                KafkaError.Code.notLeaderForPartition, KafkaError.Code.requestTimedOut, KafkaError.Code.notEnoughReplicas,
                KafkaError.Code.leaderNotAvailable, KafkaError.Code.networkException, KafkaError.Code.requestTimedOut,
            ])

            // Four batches in flight at once, as the dispatcher may run them; what is answered
            // .retry (librdkafka gives up on NETWORK_EXCEPTION) is delivered again.
            let outcomes = await withTaskGroup(of: [String: DeliveryOutcome].self) { group in
                for part in 0..<4 {
                    let slice = items.enumerated().filter { $0.offset % 4 == part }.map(\.element)
                    group.addTask { await Fixture.deliverRetrying(slice, to: sink, batchSize: 250) }
                }
                return await group.reduce(into: [String: DeliveryOutcome]()) { $0.merge($1) { $1 } }
            }

            #expect(outcomes.count == items.count)
            let failed = outcomes.filter { $0.value != .delivered }
            #expect(failed.isEmpty, "\(failed.prefix(3))")
            let records = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: topic, expecting: items.count + 1))
            #expect(Set(records.keys) == Set(items.map(\.eventID.rawValue) + ["evt--1"]))
            #expect(try await Fixture.messageCount(bootstrap, topic: topic) == Int64(items.count + 1))
        }
    }

    @Test func brokerDownThenUpEndsDeliveredExactlyOnce() async throws {
        let topic = Fixture.topic()
        let items = Fixture.items(count: 400, keys: 20)
        let destination = KafkaDestination(brokers: "mock:3", topic: topic, properties: ["reconnect.backoff.max.ms": "500"])
        try await Fixture.withSink(destination, partitions: 4) { sink, cluster, bootstrap in
            for partition in Int32(0)..<4 { cluster.setPartitionLeader(topic: topic, partition: partition, broker: 1) }
            #expect(await sink.deliver([Fixture.item(-1, key: "warm-up")]) == [.delivered])

            cluster.setBrokerDown(1)
            let finished = Atomic<Bool>(false)
            async let outcomes = {
                let outcomes = await sink.deliver(items)
                finished.store(true, ordering: .releasing)
                return outcomes
            }()
            try await Task.sleep(for: .milliseconds(500))
            let finishedEarly = finished.load(ordering: .acquiring)
            #expect(!finishedEarly, "items for a down leader were reported delivered")
            cluster.setBrokerUp(1)

            #expect(Fixture.notDelivered(await outcomes).isEmpty)
            let records = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: topic, expecting: items.count + 1))
            #expect(Set(records.keys) == Set(items.map(\.eventID.rawValue) + ["evt--1"]))
        }
    }

    @Test func leaderChangesMidStreamKeepOrderAndDeliverOnce() async throws {
        let topic = Fixture.topic()
        let items = Fixture.items(count: 6000, keys: 30)
        try await Fixture.withSink(KafkaDestination(brokers: "mock:3", topic: topic), partitions: 4) { sink, cluster, bootstrap in
            let outcomes = await withTaskGroup(of: [DeliveryOutcome].self) { group in
                group.addTask { await Fixture.deliver(items, to: sink, batchSize: 500) }
                group.addTask {
                    for round in 1...6 {
                        try? await Task.sleep(for: .milliseconds(15))
                        for partition in Int32(0)..<4 {
                            cluster.setPartitionLeader(topic: topic, partition: partition, broker: (partition + Int32(round)) % 3 + 1)
                        }
                    }
                    return []
                }
                return await group.reduce(into: [DeliveryOutcome]()) { $0 += $1 }
            }

            #expect(outcomes.count == items.count)
            #expect(Fixture.notDelivered(outcomes).isEmpty, "\(Fixture.notDelivered(outcomes).prefix(3))")
            let records = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: topic, expecting: items.count))
            #expect(records.count == items.count)
            var lastOffset: [String: Int64] = [:]
            for item in items {
                guard let key = item.key, let record = records[item.eventID.rawValue] else { continue }
                #expect(record.offset > lastOffset[key, default: -1], "key \(key): \(item.eventID) out of order")
                lastOffset[key] = record.offset
            }
        }
    }

    @Test func permanentErrorIsDeadAndPublishedToTheDeadLetterTopic() async throws {
        let topic = Fixture.topic()
        let deadLetterTopic = "\(topic).dlq"
        let destination = KafkaDestination(brokers: "mock:3", topic: topic, deadLetterTopic: deadLetterTopic)
        let doomed = (0..<5).map { Fixture.item($0, key: "doomed", headers: [.init(name: "x-route", value: "dlq")]) }
        try await Fixture.withSink(destination) { sink, cluster, bootstrap in
            #expect(await sink.deliver([Fixture.item(-1, key: "doomed")]) == [.delivered])
            // One Produce request carries the whole batch (one key, one partition): one error dooms it.
            cluster.pushRequestErrors(apiKey: KafkaError.APIKey.produce, errors: [KafkaError.Code.topicAuthorizationFailed])

            let outcomes = await sink.deliver(doomed)

            var reasons: [String: String] = [:]
            for (item, outcome) in zip(doomed, outcomes) {
                guard case .dead(let reason) = outcome else {
                    Issue.record("\(item.eventID): \(outcome), expected .dead")
                    continue
                }
                #expect(reason.hasPrefix("kafka orders: "))
                #expect(reason.contains("TOPIC_AUTHORIZATION_FAILED"), "\(reason)")
                reasons[item.eventID.rawValue] = reason
            }
            #expect(try await Fixture.messageCount(bootstrap, topic: topic) == 1)
            let letters = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: deadLetterTopic, expecting: doomed.count))
            #expect(letters.count == doomed.count)
            for item in doomed {
                let letter = try #require(letters[item.eventID.rawValue])
                #expect(letter.value == item.body)
                #expect(Fixture.text(letter.key) == "doomed")
                #expect(Fixture.header(letter, "relay_dead_reason") == reasons[item.eventID.rawValue])
                #expect(Fixture.header(letter, "relay_destination") == "orders")
                #expect(Fixture.header(letter, "ce_source") == "/audience-relay/sources/sitecore")
                #expect(Fixture.header(letter, "content-type") == "application/json")
                #expect(Fixture.header(letter, "x-route") == "dlq")
            }
        }
    }

    @Test func fatalErrorIsDeadAndTheProducerIsReplaced() async throws {
        let topic = Fixture.topic()
        try await Fixture.withSink(KafkaDestination(brokers: "mock:3", topic: topic)) { sink, cluster, bootstrap in
            #expect(await sink.deliver([Fixture.item(-1, key: "k")]) == [.delivered])
            cluster.pushRequestErrors(apiKey: KafkaError.APIKey.produce, errors: [45]) // OUT_OF_ORDER_SEQUENCE_NUMBER

            let outcomes = await sink.deliver([Fixture.item(0, key: "k")])
            guard case .dead(let reason) = try #require(outcomes.first) else {
                Issue.record("expected .dead, got \(outcomes)")
                return
            }
            #expect(reason.lowercased().contains("sequence"), "\(reason)")

            #expect(await sink.deliver([Fixture.item(1, key: "k")]) == [.delivered])
            let records = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: topic, expecting: 3))
            #expect(records["evt-1"] != nil)
        }
    }

    @Test func oversizedItemIsDeadWithItsSizeAndNeverProduced() async throws {
        let topic = Fixture.topic()
        let deadLetterTopic = "\(topic).dlq"
        let destination = KafkaDestination(
            brokers: "mock:3", topic: topic, properties: ["message.max.bytes": "10000"], deadLetterTopic: deadLetterTopic
        )
        let big = Array(#"{"blob":"\#(String(repeating: "x", count: 11_989))"}"#.utf8)
        let items = [Fixture.item(0, key: "k"), Fixture.item(1, key: "k", body: big), Fixture.item(2, key: "k")]
        try await Fixture.withSink(destination) { sink, cluster, bootstrap in
            #expect(sink.maxMessageBytes == 10_000)
            try cluster.createTopic(deadLetterTopic, partitions: 1, replicationFactor: 3)

            let outcomes = await sink.deliver(items)

            #expect(outcomes[0] == .delivered)
            #expect(outcomes[2] == .delivered)
            guard case .dead(let reason) = outcomes[1] else {
                Issue.record("expected .dead, got \(outcomes[1])")
                return
            }
            #expect(reason.contains("value 12000 bytes"), "\(reason)")
            #expect(reason.contains("message.max.bytes 10000"), "\(reason)")
            let records = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: topic, expecting: 2))
            #expect(Set(records.keys) == ["evt-0", "evt-2"])
            #expect(try await Fixture.messageCount(bootstrap, topic: topic) == 2)
            // It would not fit the dead-letter topic either.
            #expect(try await Fixture.messageCount(bootstrap, topic: deadLetterTopic) == 0)
        }
    }

    @Test(.enabled(if: kcat != nil, "kcat is not installed (apt-get install kcat)"))
    func kcatReadsTheCloudEventsHeaders() async throws {
        let kcat = try #require(Self.kcat)
        let topic = Fixture.topic()
        let items = (0..<10).map {
            Fixture.item($0, key: "key-\($0)", subject: "audience-\($0)", headers: [.init(name: "x-route", value: "kcat")])
        }
        try await Fixture.withSink(KafkaDestination(brokers: "mock:3", topic: topic)) { sink, _, bootstrap in
            #expect(await sink.deliver(items) == Array(repeating: .delivered, count: items.count))

            let output = try await Subprocess.run(kcat, [
                "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k|%h|%s\\n",
            ], timeout: .seconds(20))

            let expected = Set(items.map { item in
                let time = CloudEvents.time(item.receivedAt)
                return "\(item.key ?? "")|ce_specversion=1.0,ce_id=\(item.eventID),ce_source=/audience-relay/sources/sitecore,"
                    + "ce_type=com.sitecore.cdp.audience-export.notification,ce_subject=\(item.subject ?? ""),ce_time=\(time),"
                    + "content-type=application/json,x-route=kcat|\(String(decoding: item.body, as: UTF8.self))"
            })
            #expect(Set(output.split(separator: "\n").map(String.init)) == expected, "kcat printed:\n\(output)")
        }
    }

    @Test func sinksShareOneProducerPerBrokersAndProperties() async throws {
        let store = CapturingLogHandler.Store()
        let clusters = KafkaClusters(logger: Logger(label: "test") { _ in CapturingLogHandler(store: store) })
        let topic = Fixture.topic()
        let first = KafkaDestination(brokers: "mock:3", topic: topic)
        let second = KafkaDestination(brokers: "mock:3", topic: "\(topic)-2", deadLetterTopic: "dlq")
        let tuned = KafkaDestination(brokers: "mock:3", topic: topic, properties: ["linger.ms": "20"])
        let embedded = KafkaDestination(brokers: "embedded", topic: topic)

        #expect(try clusters.producer(for: first) === clusters.producer(for: second))
        #expect(try clusters.producer(for: first) !== clusters.producer(for: tuned))
        #expect(try clusters.producer(for: tuned).configuration.bootstrapServers == clusters.bootstrapServers(for: "mock:3"))
        #expect(try clusters.producer(for: embedded).configuration.bootstrapServers != clusters.bootstrapServers(for: "mock:3"))

        let bootstrap = clusters.embeddedBootstrap
        #expect(Set(bootstrap.keys) == ["mock:3", "embedded"])
        #expect(bootstrap.values.allSatisfy { $0.hasPrefix("127.0.0.1:") && $0.split(separator: ",").count == 3 })
        let announced = store.all.filter { $0.message == "embedded Kafka listening" && $0.level == .info }
        #expect(Set(announced.compactMap { $0.metadata["bootstrap"].map { "\($0)" } }) == Set(bootstrap.values))
        #expect(try clusters.bootstrapServers(for: "kafka-1:9092,kafka-2:9092") == "kafka-1:9092,kafka-2:9092")
        #expect(throws: KafkaError.self) { try clusters.bootstrapServers(for: "mock:0") }

        // A sink's shutdown keeps the shared producer for the other sinks; the last one closes it.
        let sinkA = try KafkaSink(name: "a", destination: first, clusters: clusters, logger: Fixture.logger)
        let sinkB = try KafkaSink(name: "b", destination: second, clusters: clusters, logger: Fixture.logger)
        let shared = try clusters.producer(for: first)
        await sinkA.shutdown()
        #expect(await sinkB.deliver([Fixture.item(0, key: "k")]) == [.delivered])
        guard case .retry = try #require(await sinkA.deliver([Fixture.item(1, key: "k")]).first) else {
            Issue.record("a shut-down sink should answer .retry")
            return
        }
        await sinkB.shutdown()
        #expect(try clusters.producer(for: first) !== shared)

        await clusters.shutdown()
        #expect(throws: KafkaError.self) { try clusters.producer(for: first) }
        #expect(clusters.embeddedBootstrap.isEmpty)
    }

    // Runs only with KAFKA_BROKERS set (e.g. "localhost:9092"): the sink against real brokers.
    @Test(.enabled(if: realBrokers != nil, "set KAFKA_BROKERS=host:port[,host:port] to run against real brokers"))
    func deliversToRealBrokers() async throws {
        let brokers = try #require(Self.realBrokers)
        let topic = Fixture.topic()
        let items = Fixture.items(count: 200, keys: 10)
        let clusters = KafkaClusters(logger: Fixture.logger)
        let destination = KafkaDestination(brokers: brokers, topic: topic, properties: ["message.timeout.ms": "20000"])
        let sink = try KafkaSink(name: "orders", destination: destination, clusters: clusters, logger: Fixture.logger)

        let outcomes = await sink.deliver(items)
        await sink.shutdown()
        await clusters.shutdown()

        #expect(Fixture.notDelivered(outcomes).isEmpty, "\(Fixture.notDelivered(outcomes).prefix(3))")
        let records = Fixture.byEventID(try await Fixture.readBack(brokers, topic: topic, expecting: items.count))
        #expect(Set(records.keys) == Set(items.map(\.eventID.rawValue)))
    }
}
