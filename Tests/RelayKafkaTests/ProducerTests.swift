// Producer behaviour against a 3-broker mock cluster: delivery, read-back, ordering, local failures.
import Foundation
import RelayKafka
import Testing

extension RelayKafkaTests {
    @Suite struct ProducerTests {
        @Test func producesBatchAndReadsItBack() async throws {
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let topic = Fixture.topic()
            var messages = Fixture.messages(topic: topic, count: 200, keys: 10, headers: true)
            messages.append(KafkaMessage(topic: topic, key: nil, value: Fixture.bytes("no key")))
            messages.append(KafkaMessage(topic: topic, key: [], value: [], headers: [("empty", [])]))

            let reports = await producer.send(messages)

            #expect(reports.count == messages.count)
            #expect(Fixture.failures(reports).isEmpty, "\(Fixture.failures(reports).prefix(3))")
            let reader = try KafkaReader(bootstrapServers: cluster.bootstrapServers, logger: Fixture.logger)
            let records = try reader.read(topic: topic, maxMessages: 1000, timeout: .seconds(15))
            #expect(records.count == messages.count)

            var partitionOfKey: [String: Int32] = [:]
            let recordsByPosition = Dictionary(uniqueKeysWithValues: records.map { (KafkaDelivered(partition: $0.partition, offset: $0.offset), $0) })
            for (message, report) in zip(messages, reports) {
                guard case .success(let delivered) = report, let record = recordsByPosition[delivered] else {
                    Issue.record("no record at the reported position for \(Fixture.text(message.value) ?? "")")
                    continue
                }
                #expect(record.topic == topic)
                #expect(record.key == message.key)
                #expect(record.value == message.value)
                #expect(record.headers.map(\.name) == message.headers.map(\.name))
                #expect(record.headers.map(\.value) == message.headers.map(\.value))
                if let key = Fixture.text(message.key), !key.isEmpty {
                    #expect(partitionOfKey[key, default: record.partition] == record.partition, "key \(key) spread over partitions")
                    partitionOfKey[key] = record.partition
                }
            }
            #expect(records.contains { $0.key == nil && Fixture.text($0.value) == "no key" })
            #expect(records.contains { $0.key == [] && $0.value.isEmpty && $0.headers.first?.value == [] })
        }

        @Test func keepsPerKeyOrderAcross10000Messages() async throws {
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let topic = Fixture.topic()
            let messages = Fixture.messages(topic: topic, count: 10_000, keys: 50)

            let reports = await Fixture.send(messages, with: producer, batchSize: 2000)

            #expect(Fixture.failures(reports).isEmpty)
            var lastByKey: [String: KafkaDelivered] = [:]
            for (message, report) in zip(messages, reports) {
                guard case .success(let delivered) = report, let key = Fixture.text(message.key) else { continue }
                if let previous = lastByKey[key] {
                    #expect(previous.partition == delivered.partition, "key \(key) changed partition")
                    #expect(previous.offset < delivered.offset, "key \(key) out of order")
                }
                lastByKey[key] = delivered
            }
            #expect(lastByKey.count == 50)

            let reader = try KafkaReader(bootstrapServers: cluster.bootstrapServers, logger: Fixture.logger)
            let records = try reader.read(topic: topic, maxMessages: 20_000, timeout: .seconds(20))
            #expect(records.count == messages.count)
            var lastSequence: [String: Int] = [:]
            for record in records.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
                guard let value = Fixture.text(record.value), let slash = value.firstIndex(of: "/"),
                      let sequence = Int(value[value.index(after: slash)...]) else {
                    Issue.record("unexpected value in \(record)")
                    continue
                }
                let key = String(value[..<slash])
                #expect(lastSequence[key, default: -1] < sequence, "key \(key) read out of order")
                lastSequence[key] = sequence
            }
        }

        @Test func oversizedValueFailsAtOnceAndIsNotRetriable() async throws {
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster, properties: ["message.max.bytes": "10000"])
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            #expect(producer.configuration.maxMessageBytes == 10_000)
            let topic = Fixture.topic()
            let oversized = KafkaMessage(topic: topic, key: Fixture.bytes("k"), value: [UInt8](repeating: 7, count: 10_001))

            let clock = ContinuousClock()
            var reports: [KafkaDeliveryReport] = []
            let elapsed = await clock.measure { reports = await producer.send([oversized]) }

            #expect(elapsed < .seconds(1))
            guard case .failure(let error) = reports.first else {
                Issue.record("oversized message was delivered: \(reports)")
                return
            }
            #expect(error.code == KafkaError.Code.messageSizeTooLarge)
            #expect(!error.isRetriable)
            #expect(!error.isFatal)
            #expect(error.message.contains("message.max.bytes=10000"), "unclear message: \(error.message)")

            // A mixed batch: the good messages around it still go through, in order.
            let good = KafkaMessage(topic: topic, key: Fixture.bytes("k"), value: Fixture.bytes("fits"))
            let mixed = await producer.send([good, oversized, good])
            #expect(mixed.map { (try? $0.get()) != nil } == [true, false, true])
        }

        @Test func unknownPartitionIsReportedNotRetried() async throws {
            let cluster = try Fixture.cluster()
            let topic = Fixture.topic()
            try cluster.createTopic(topic, partitions: 2, replicationFactor: 3)
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }

            let reports = await producer.send([
                KafkaMessage(topic: topic, value: Fixture.bytes("fine"), partition: 1),
                KafkaMessage(topic: topic, value: Fixture.bytes("nowhere"), partition: 7),
            ])

            #expect((try? reports[0].get())?.partition == 1)
            guard case .failure(let error) = reports[1] else {
                Issue.record("message to partition 7 was delivered")
                return
            }
            #expect(error.code == KafkaError.Code.unknownPartition)
            #expect(!error.isRetriable)
        }

        @Test func shutdownIsIdempotentAndLaterSendsFailRetriably() async throws {
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster)
            let topic = Fixture.topic()
            let before = await producer.send(Fixture.messages(topic: topic, count: 10, keys: 2))
            #expect(Fixture.failures(before).isEmpty)

            await producer.shutdownGracefully(flushTimeout: .seconds(5))
            producer.shutdown(flushTimeout: .seconds(5))

            let after = await producer.send(Fixture.messages(topic: topic, count: 3, keys: 1))
            let errors = Fixture.failures(after)
            #expect(errors.count == 3)
            #expect(errors.allSatisfy { $0.isRetriable && $0.code == KafkaError.Code.destroyed })
        }

        @Test func droppingAProducerWithoutShutdownIsSafe() async throws {
            let cluster = try Fixture.cluster()
            let topic = Fixture.topic()
            for _ in 0..<3 {
                let producer = try Fixture.producer(cluster)
                #expect(Fixture.failures(await producer.send(Fixture.messages(topic: topic, count: 50, keys: 5))).isEmpty)
            }
            let reader = try KafkaReader(bootstrapServers: cluster.bootstrapServers, logger: Fixture.logger)
            #expect(try reader.highWatermarks(topic: topic, timeout: .seconds(5)).values.reduce(0, +) == 150)
        }

        @Test func readerStartsAtGivenOffsets() async throws {
            let cluster = try Fixture.cluster()
            let topic = Fixture.topic()
            try cluster.createTopic(topic, partitions: 2, replicationFactor: 1)
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let messages = (0..<10).map { KafkaMessage(topic: topic, value: Fixture.bytes("m\($0)"), partition: Int32($0 % 2)) }
            #expect(Fixture.failures(await producer.send(messages)).isEmpty)

            let reader = try KafkaReader(bootstrapServers: cluster.bootstrapServers, logger: Fixture.logger)
            let records = try reader.read(topic: topic, offsets: [0: 3], maxMessages: 100, timeout: .seconds(10))

            #expect(Set(records.compactMap { Fixture.text($0.value) }) == ["m6", "m8", "m1", "m3", "m5", "m7", "m9"])
            #expect(try reader.highWatermarks(topic: topic, timeout: .seconds(5)) == [0: 5, 1: 5])
            let limited = try reader.read(topic: topic, maxMessages: 4, timeout: .seconds(10))
            #expect(limited.count == 4)
        }

        @Test func concurrentSendsAreAllReported() async throws {
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let topic = Fixture.topic()

            let counts = await withTaskGroup(of: Int.self) { group in
                for lane in 0..<8 {
                    group.addTask {
                        let messages = (0..<500).map {
                            KafkaMessage(topic: topic, key: Fixture.bytes("lane-\(lane)"), value: Fixture.bytes("\(lane)/\($0)"))
                        }
                        let reports = await producer.send(messages)
                        return reports.filter { (try? $0.get()) != nil }.count
                    }
                }
                return await group.reduce(into: [Int]()) { $0.append($1) }
            }

            #expect(counts == Array(repeating: 500, count: 8))
        }

        @Test func invalidPropertyIsAConfigurationError() throws {
            let configuration = KafkaProducerConfiguration(
                bootstrapServers: "127.0.0.1:9",
                properties: ["no.such.property": "1"]
            )
            #expect(throws: KafkaError.self) {
                _ = try KafkaProducer(configuration: configuration, logger: Fixture.logger)
            }
            do {
                _ = try KafkaProducer(configuration: configuration, logger: Fixture.logger)
            } catch {
                #expect(error.code == KafkaError.Code.invalidArgument)
                #expect(!error.isRetriable)
                #expect(error.message.contains("no.such.property"))
            }
        }

        @Test func configurationAppliesDefaultsThenOverrides() {
            let configuration = KafkaProducerConfiguration(
                bootstrapServers: "b:9092",
                properties: ["linger.ms": "20", "message.max.bytes": " 2000000 "]
            )
            let applied = configuration.effectiveProperties
            #expect(applied.prefix(4).map(\.name) == ["enable.idempotence", "acks", "compression.type", "linger.ms"])
            #expect(applied.last { $0.name == "linger.ms" }?.value == "20")
            #expect(applied.contains { $0.name == "bootstrap.servers" && $0.value == "b:9092" })
            #expect(configuration.maxMessageBytes == 2_000_000)
            #expect(KafkaProducerConfiguration(bootstrapServers: "b:9092").maxMessageBytes == 1_000_000)
        }
    }
}
