// An independent client (kcat, librdkafka's CLI) reads what the producer wrote to the mock cluster.
import Foundation
import RelayKafka
import RelayTestSupport
import Synchronization
import Testing

extension RelayKafkaTests {
    @Suite struct InteropTests {
        static let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }

        @Test(.enabled(if: kcat != nil, "kcat is not installed (apt-get install kcat)"))
        func kcatReadsKeysHeadersAndValues() async throws {
            let kcat = try #require(Self.kcat)
            let cluster = try Fixture.cluster()
            let producer = try Fixture.producer(cluster)
            defer { producer.shutdown(flushTimeout: .seconds(5)) }
            let topic = Fixture.topic()
            let messages = (0..<20).map { index in
                KafkaMessage(
                    topic: topic,
                    key: Fixture.bytes("key-\(index)"),
                    value: Fixture.bytes("value-\(index)"),
                    headers: [("trace", Fixture.bytes("t-\(index)")), ("source", Fixture.bytes("relay"))]
                )
            }
            #expect(Fixture.failures(await producer.send(messages)).isEmpty)

            let output = try await Subprocess.run(kcat, [
                "-b", cluster.bootstrapServers, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                "-f", "%k|%h|%s\\n",
            ], timeout: .seconds(20))

            let lines = Set(output.split(separator: "\n").map(String.init))
            let expected = Set((0..<20).map { "key-\($0)|trace=t-\($0),source=relay|value-\($0)" })
            #expect(lines == expected, "kcat printed:\n\(output)")
        }
    }
}
