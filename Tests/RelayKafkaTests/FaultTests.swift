// Fault injection on the mock cluster: retriable broker errors, broker outage, leader moves, permanent and fatal errors.
import RelayKafka
import Synchronization
import Testing

extension RelayKafkaTests {
    @Suite struct FaultTests {
        @Test func retriableProduceErrorsStillDeliverExactlyOnce() async throws {
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let topic = Fixture.topic()
            let warmUp = await producer.send([KafkaMessage(topic: topic, value: Fixture.bytes("warm-up"))])
            #expect(Fixture.failures(warmUp).isEmpty)
            cluster.pushRequestErrors(apiKey: KafkaError.APIKey.produce, errors: [
                KafkaError.Code.notLeaderForPartition, KafkaError.Code.notLeaderForPartition,
                KafkaError.Code.requestTimedOut, KafkaError.Code.requestTimedOut,
                KafkaError.Code.notEnoughReplicas, KafkaError.Code.leaderNotAvailable,
            ])
            let messages = Fixture.messages(topic: topic, count: 1000, keys: 20)

            let reports = await Fixture.send(messages, with: producer, batchSize: 250)

            #expect(Fixture.failures(reports).isEmpty, "\(Fixture.failures(reports).prefix(3))")
            let expected = Set(messages.compactMap { Fixture.text($0.value) } + ["warm-up"])
            try Fixture.expectExactlyOnce(topic: topic, values: expected, cluster: cluster)
        }

        @Test func brokerDownThenUpStillDelivers() async throws {
            let cluster = try Fixture.cluster()
            let topic = Fixture.topic()
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)
            cluster.setPartitionLeader(topic: topic, partition: 0, broker: 1)
            let producer = try Fixture.producer(cluster, properties: ["reconnect.backoff.max.ms": "500"])
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let warmUp = await producer.send([KafkaMessage(topic: topic, value: Fixture.bytes("warm-up"), partition: 0)])
            #expect(Fixture.failures(warmUp).isEmpty)

            cluster.setBrokerDown(1)
            var messages = Fixture.messages(topic: topic, count: 200, keys: 20)
            for index in stride(from: 0, to: messages.count, by: 2) { messages[index].partition = 0 }
            let finished = Atomic<Bool>(false)
            async let reports = {
                let reports = await producer.send(messages)
                finished.store(true, ordering: .releasing)
                return reports
            }()
            try await Task.sleep(for: .milliseconds(500))
            let finishedEarly = finished.load(ordering: .acquiring)
            #expect(!finishedEarly, "messages for a down leader were acknowledged")
            cluster.setBrokerUp(1)

            #expect(Fixture.failures(await reports).isEmpty)
            let expected = Set(messages.compactMap { Fixture.text($0.value) } + ["warm-up"])
            try Fixture.expectExactlyOnce(topic: topic, values: expected, cluster: cluster)
        }

        @Test func leaderChangesMidStreamStillDeliverInOrder() async throws {
            let cluster = try Fixture.cluster()
            let topic = Fixture.topic()
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let messages = Fixture.messages(topic: topic, count: 6000, keys: 30)

            let reports = await withTaskGroup(of: [KafkaDeliveryReport].self) { group in
                group.addTask { await Fixture.send(messages, with: producer, batchSize: 200) }
                group.addTask {
                    for round in 1...6 {
                        try? await Task.sleep(for: .milliseconds(15))
                        for partition in Int32(0)..<4 {
                            cluster.setPartitionLeader(topic: topic, partition: partition, broker: (partition + Int32(round)) % 3 + 1)
                        }
                    }
                    return []
                }
                return await group.reduce(into: [KafkaDeliveryReport]()) { $0 += $1 }
            }

            #expect(reports.count == messages.count)
            #expect(Fixture.failures(reports).isEmpty, "\(Fixture.failures(reports).prefix(3))")
            var lastOffset: [String: Int64] = [:]
            for (message, report) in zip(messages, reports) {
                guard case .success(let delivered) = report, let key = Fixture.text(message.key) else { continue }
                #expect(lastOffset[key, default: -1] < delivered.offset, "key \(key) out of order")
                lastOffset[key] = delivered.offset
            }
            try Fixture.expectExactlyOnce(topic: topic, values: Set(messages.compactMap { Fixture.text($0.value) }), cluster: cluster)
        }

        @Test(arguments: [KafkaError.Code.topicAuthorizationFailed, KafkaError.Code.messageSizeTooLarge, KafkaError.Code.invalidRecord])
        func permanentBrokerErrorIsReportedAsNotRetriable(code: Int32) async throws {
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let topic = Fixture.topic()
            let warmUp = await producer.send([KafkaMessage(topic: topic, value: Fixture.bytes("warm-up"), partition: 0)])
            #expect(Fixture.failures(warmUp).isEmpty)
            cluster.pushRequestErrors(apiKey: KafkaError.APIKey.produce, errors: [code])

            let reports = await producer.send((0..<5).map {
                KafkaMessage(topic: topic, value: Fixture.bytes("doomed-\($0)"), partition: 0)
            })

            let errors = Fixture.failures(reports)
            #expect(errors.count == 5)
            for error in errors {
                #expect(error.code == code)
                #expect(!error.isRetriable)
                #expect(!error.isFatal)
                #expect(error.message.hasPrefix("Broker: "), "unclear message: \(error.message)")
            }
            #expect(producer.raisedFatalError == nil)
        }

        @Test func fatalIdempotenceErrorIsFatalAndNotRetriable() async throws {
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let topic = Fixture.topic()
            let warmUp = await producer.send([KafkaMessage(topic: topic, value: Fixture.bytes("warm-up"), partition: 0)])
            #expect(Fixture.failures(warmUp).isEmpty)
            cluster.pushRequestErrors(apiKey: KafkaError.APIKey.produce, errors: [45]) // OUT_OF_ORDER_SEQUENCE_NUMBER

            let reports = await producer.send([KafkaMessage(topic: topic, value: Fixture.bytes("lost"), partition: 0)])

            let error = try #require(Fixture.failures(reports).first)
            #expect(error.isFatal)
            #expect(!error.isRetriable)
            #expect(error.message.contains("sequence"))
            #expect(producer.raisedFatalError?.isFatal == true)
            let later = await producer.send([KafkaMessage(topic: topic, value: Fixture.bytes("refused"))])
            #expect(Fixture.failures(later).allSatisfy { $0.isFatal && !$0.isRetriable })
        }
    }
}
