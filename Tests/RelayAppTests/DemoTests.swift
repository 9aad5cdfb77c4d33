// `audience-relay demo` end to end, as a user runs it: the built binary, bounded, with no external services.
import Foundation
import Testing

@Suite(.serialized)
struct DemoTests {
    @Test func theDemoDeliversTheNotificationAndEveryRecordAndExitsZero() throws {
        let (status, output) = try RelayBinary.run(["demo", "--records", "2000", "--timeout", "60s"], timeout: .seconds(120))
        #expect(status == 0, "\(output)")
        let lines = output.split(separator: "\n").map(String.init)
        let summary = lines.last { $0.hasPrefix("demo: ") && $0.contains("arrived") } ?? ""
        #expect(summary.contains("1 notification and 2000/2000 export records arrived on the embedded Kafka"), "\(output)")
        #expect(summary.contains("export.completed seen"), "\(output)")
        // The upstream's first answer is 404, so the export is only fetched after a poll.
        #expect(output.contains("1 poll(s) with 404 (not ready)"), "\(output)")
        #expect(output.contains("embedded Kafka at 127.0.0.1:"), "\(output)")
        #expect(lines.contains { $0.hasPrefix("records on demo.records: ") }, "\(output)")
        // Quiet: the relay logs nothing at warning level or above on a good run.
        #expect(!output.contains("\"level\":\"error\"") && !output.contains("\"level\":\"critical\""), "\(output)")
    }

    @Test func aTimeoutTooShortForTheExportExitsOneSayingWhatIsMissing() throws {
        let (status, output) = try RelayBinary.run(["demo", "--records", "2000", "--timeout", "1ms"], timeout: .seconds(60))
        #expect(status == 1, "\(output)")
        #expect(output.contains("demo: FAILED"), "\(output)")
        #expect(output.contains("missing:"), "\(output)")
    }
}
