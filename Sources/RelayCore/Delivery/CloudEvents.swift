// CloudEvents 1.0 binary-mode attributes of a delivery (the Kafka sink sends them as `ce_*` headers, HTTP as `ce-*`).
import Foundation

public enum CloudEvents {
    /// `source` attribute for events received on a relay source.
    public static func source(for sourceName: String) -> String { "/audience-relay/sources/\(sourceName)" }

    /// RFC 3339 UTC timestamp with milliseconds.
    public static func time(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC") ?? .gmt))
    }

    /// The attributes in a fixed order: specversion, id, source, type, subject (if any), time.
    public static func attributes(of item: DeliveryItem) -> [(name: String, value: String)] {
        var attributes: [(String, String)] = [
            ("specversion", "1.0"), ("id", item.eventID), ("source", source(for: item.source)), ("type", item.eventType),
        ]
        if let subject = item.subject { attributes.append(("subject", subject)) }
        attributes.append(("time", time(item.receivedAt)))
        return attributes
    }
}
