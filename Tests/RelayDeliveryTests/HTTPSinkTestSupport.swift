// Fixtures for the HTTP sink tests (the receiver is RelayTestSupport's UpstreamServer): builders of
// destinations, sinks and items, a hand-set clock and a flag.
import Foundation
import Logging
import RelayCore
import RelayCurl
import RelayDelivery
import Synchronization

/// A clock the tests set by hand.
final class HTTPSinkTestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

    var function: @Sendable () -> Date { { self.now } }
}

/// A flag one task sets and another reads.
final class HTTPSinkTestFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }

    var isSet: Bool { value.load(ordering: .acquiring) }
}

enum HTTPSinkFixture {
    static let logger = Logger(label: "http-sink-test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func client() -> CurlClient {
        CurlClient(configuration: CurlClientConfiguration(), logger: logger)
    }

    /// A destination with short timeouts and no proxy (whatever the environment says).
    static func destination(
        _ url: String, method: String = "POST", headers: [String: String] = [:], timeout: Duration = .seconds(10),
        concurrency: Int = 4, retryOnStatus: Set<Int> = HTTPDestination.defaultRetryStatuses, caFile: String? = nil,
        breakerFailures: Int = 100, breakerCoolDown: Duration = .seconds(30)
    ) -> HTTPDestination {
        HTTPDestination(
            url: url, method: method, headers: headers, connectTimeout: .seconds(5), timeout: timeout,
            concurrency: concurrency, retryOnStatus: retryOnStatus, caFile: caFile, proxy: "",
            breakerFailures: breakerFailures, breakerCoolDown: breakerCoolDown
        )
    }

    static func sink(
        _ destination: HTTPDestination, client: CurlClient, signingKey: [UInt8]? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) -> HTTPSink {
        HTTPSink(name: "downstream", destination: destination, signingKey: signingKey, client: client, logger: logger, clock: clock)
    }

    static let receivedAt = Date(timeIntervalSince1970: 1_763_900_000.125)

    static func item(_ number: Int, body: String? = nil, headers: [PlannedDelivery.Header] = []) -> DeliveryItem {
        DeliveryItem(
            deliveryID: Int64(number), destination: "downstream", eventID: EventID(stored: "evt-\(number)-\(UUID().uuidString)"),
            source: "sitecore", eventType: "com.sitecore.cdp.audience-export.notification", subject: "audience-\(number)",
            receivedAt: receivedAt, key: "audience-\(number)", headers: headers,
            body: Array((body ?? #"{"friendlyId":"audience-\#(number)","n":\#(number)}"#).utf8), attempt: 1
        )
    }

    static func items(_ range: Range<Int>) -> [DeliveryItem] {
        range.map { item($0) }
    }
}
