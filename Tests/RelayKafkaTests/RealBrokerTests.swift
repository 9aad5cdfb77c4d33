// Runs only with KAFKA_BROKERS set (e.g. "localhost:9092"): the producer and reader against real Kafka.
import Foundation
import RelayKafka
import Testing

extension RelayKafkaTests {
    @Suite struct RealBrokerTests {
        static let brokers = ProcessInfo.processInfo.environment["KAFKA_BROKERS"].flatMap { $0.isEmpty ? nil : $0 }

        @Test(.enabled(if: brokers != nil, "set KAFKA_BROKERS=host:port[,host:port] to run against real brokers"))
        func producesAndReadsBackOnRealBrokers() async throws {
            let brokers = try #require(Self.brokers)
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(bootstrapServers: brokers, properties: ["message.timeout.ms": "20000"]),
                logger: Fixture.logger
            )
            defer { producer.shutdown(flushTimeout: .seconds(10)) }
            let topic = Fixture.topic()
            let messages = Fixture.messages(topic: topic, count: 500, keys: 10, headers: true)

            let reports = await producer.send(messages)

            #expect(Fixture.failures(reports).isEmpty, "\(Fixture.failures(reports).prefix(3))")
            let reader = try KafkaReader(bootstrapServers: brokers, logger: Fixture.logger)
            let records = try reader.read(topic: topic, maxMessages: 1000, timeout: .seconds(20))
            #expect(Set(records.compactMap { Fixture.text($0.value) }) == Set(messages.compactMap { Fixture.text($0.value) }))
            #expect(records.allSatisfy { $0.headers.map(\.name) == ["sequence", "source"] })
        }
    }
}
