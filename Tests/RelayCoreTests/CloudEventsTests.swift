// CloudEvents: attributes per source kind, and time formatting against Foundation's RFC 3339 formatter.
import Foundation
import RelayCore
import Testing

@Suite struct CloudEventsTests {
    @Test(arguments: [0.0, 951_782_400.5, 1_709_164_800.875, 1_764_000_000.125, 4_102_444_799.0, 1_582_934_400.25])
    func timeMatchesFoundation(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let reference = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC") ?? .gmt))
        #expect(CloudEvents.time(date) == reference)
    }

    static let receivedAt = Date(timeIntervalSince1970: 1_764_000_000.125)

    /// A valid payload of each kind, the rules it is validated with, and the `type` and `subject` it gets.
    static let kinds: [(SourceKind, [String: JSONValue], [String]?, String, String?)] = [
        (.sitecoreExport, PayloadValidatorTests.sitecore, nil, "com.sitecore.cdp.audience-export.notification", "a_1"),
        (.sitecoreExport, PayloadValidatorTests.sitecore.filter { $0.key != "friendlyId" }, ["executionRef", "status"],
         "com.sitecore.cdp.audience-export.notification", nil),
        (.adobeRun, PayloadValidatorTests.run("SUCCESS"), nil, "com.adobe.aep.external-audience.run-status", "r"),
        (.adobeOperation, PayloadValidatorTests.operation, nil, "com.adobe.aep.external-audience.operation-status", "op"),
    ]

    /// Each kind's attributes in order: subject from the kind's subject field, left out when the event has none.
    @Test(arguments: kinds)
    func attributesPerKind(_ kind: SourceKind, _ payload: [String: JSONValue], _ required: [String]?, _ type: String, _ subject: String?) throws {
        let validated = try PayloadValidator.validate(payload, rules: PayloadRules(kind: kind, requiredFields: required)).get()
        #expect(kind.eventType == type)
        let item = DeliveryItem(deliveryID: 1, destination: "d", eventID: EventID(stored: "e1"), source: "in-\(kind.rawValue)", eventType: kind.eventType,
                                subject: validated.subject, receivedAt: Self.receivedAt, key: nil, headers: [], body: [], attempt: 1)
        var expected: [(String, String)] = [
            ("specversion", "1.0"), ("id", "e1"), ("source", "/audience-relay/sources/in-\(kind.rawValue)"), ("type", type),
        ]
        if let subject { expected.append(("subject", subject)) }
        expected.append(("time", "2025-11-24T16:00:00.125Z"))
        let attributes = CloudEvents.attributes(of: item)
        #expect(attributes.map(\.name) == expected.map(\.0))
        #expect(attributes.map(\.value) == expected.map(\.1))
    }

    @Test(arguments: [(0.0, "1970-01-01T00:00:00.000Z"), (951_782_400.5, "2000-02-29T00:00:00.500Z"),
                      (253_402_300_799.5, "9999-12-31T23:59:59.500Z")])
    func timeAtTheEdges(_ seconds: Double, _ expected: String) {
        #expect(CloudEvents.time(Date(timeIntervalSince1970: seconds)) == expected)
    }
}
