// A stream of messages produced straight from the caller's thread into one topic, with their delivery
// reports tallied in produce order: the outbox's bulk drain, without a Swift value per message.
import CRdKafka
import Foundation
import Synchronization

/// Messages produced one at a time from borrowed bytes (librdkafka copies them), each tagged with the
/// caller's id (an outbox delivery id). Reports are tallied in produce order: ``takeConfirmed(_:)``
/// hands out the tags of the longest delivered prefix; the first failed report stops the lane (the
/// prefix ends before it and ``failure`` says why). At most ``capacity`` messages are outstanding.
///
/// Messages are produced in chunks (``beginChunk(limit:)``, ``KafkaLaneChunk/produce``, ``endChunk(_:)``)
/// by one caller at a time: a chunk reserves its slots under the lane's lock once, and each message
/// then takes the next slot without locking (the poll thread, which records reports under the lock,
/// never waits on the producing thread). ``takeConfirmed(_:)``, ``outstanding`` and ``allReported``
/// are for the owner between chunks.
package final class KafkaProduceLane: Sendable {
    /// The high half of every message's opaque value; lanes have the top bit set (batches do not).
    let id: UInt32
    package let capacity: Int
    private let core: ProducerCore
    // Sendable: librdkafka handles are thread-safe for producing; the lane keeps its producer alive.
    fileprivate nonisolated(unsafe) let handle: OpaquePointer
    /// NUL-terminated; librdkafka finds its topic object by name on each produce (a handle of our own
    /// would have to be destroyed before the client, which a lane cannot promise).
    fileprivate nonisolated(unsafe) let topicName: UnsafeMutablePointer<CChar>
    private let producer: KafkaProducer
    /// Called on the poll thread after each batch of this lane's reports is recorded (the owner's wake-up).
    private let onReports: @Sendable () -> Void
    /// Rings of `capacity` slots, indexed by sequence number modulo `capacity`. Tag and stamp are written
    /// by the producing caller before its message is handed over and read by the owner under `state`'s
    /// lock; a slot's status (0 pending, 1 delivered, 2 failed) is reset by the producing caller and
    /// set by the poll thread under the lock (librdkafka orders the reset before the report).
    fileprivate nonisolated(unsafe) let tags: UnsafeMutablePointer<Int64>
    fileprivate nonisolated(unsafe) let stamps: UnsafeMutablePointer<Double>
    fileprivate nonisolated(unsafe) let status: UnsafeMutablePointer<UInt8>
    /// The size the producing caller gave each message (what ``outstandingBytes`` adds up).
    fileprivate nonisolated(unsafe) let sizes: UnsafeMutablePointer<Int>
    private let state: Mutex<State>

    private struct State {
        /// Sequence numbers: [confirmed, produced) are outstanding (or reserved by an open chunk).
        var confirmed: UInt64 = 0
        var produced: UInt64 = 0
        /// Reports recorded for sequences at or after `confirmed`.
        var reported = 0
        /// Sizes of the messages produced and not yet passed by the confirmed prefix.
        var outstandingBytes = 0
        var failure: KafkaError?
    }

    /// What became of one ``KafkaLaneChunk/produce(tag:stamp:key:value:headerCount:headers:)``.
    package enum Enqueued: Sendable {
        case queued
        /// Not produced: the chunk's slots are used up, or librdkafka's local queue is full. Try again in
        /// a new chunk once reports came back (`onReports`).
        case full
        /// librdkafka refused this message (too large, unknown topic, producer closed); not produced.
        case refused(KafkaError)
    }

    init(id: UInt32, topic: String, capacity: Int, producer: KafkaProducer, core: ProducerCore, handle: OpaquePointer,
         onReports: @escaping @Sendable () -> Void) {
        self.id = id
        var size = 1
        while size < capacity { size <<= 1 }
        self.capacity = size
        self.producer = producer
        self.core = core
        self.handle = handle
        self.onReports = onReports
        self.topicName = strdup(topic)
        tags = .allocate(capacity: size)
        tags.initialize(repeating: 0, count: size)
        stamps = .allocate(capacity: size)
        stamps.initialize(repeating: 0, count: size)
        status = .allocate(capacity: size)
        status.initialize(repeating: 0, count: size)
        sizes = .allocate(capacity: size)
        sizes.initialize(repeating: 0, count: size)
        state = Mutex(State())
    }

    deinit {
        free(topicName)
        tags.deallocate()
        stamps.deallocate()
        status.deallocate()
        sizes.deallocate()
    }

    /// Messages produced and not yet passed by the confirmed prefix.
    package var outstanding: Int {
        state.withLock { Int($0.produced - $0.confirmed) }
    }

    /// The sizes (as given to ``KafkaLaneChunk/produce(tag:stamp:size:key:value:headerCount:headers:)``) of
    /// the messages produced and not yet passed by the confirmed prefix: what librdkafka holds copies of.
    package var outstandingBytes: Int {
        state.withLock { $0.outstandingBytes }
    }

    /// Messages produced and not reported yet.
    var outstandingUnreported: Int {
        state.withLock { Int($0.produced - $0.confirmed) - $0.reported }
    }

    /// The first failed report (the lane produces nothing after it).
    package var failure: KafkaError? {
        state.withLock { $0.failure }
    }

    /// Reserves up to `limit` slots for the messages of one chunk; nil when none is free, after a failed
    /// report, or once the producer is closing. End it with ``endChunk(_:)``.
    package func beginChunk(limit: Int) -> KafkaLaneChunk? {
        guard core.beginHandleUse() else { return nil }
        let reserved: (start: UInt64, count: Int)? = state.withLock { state in
            let free = capacity - Int(state.produced - state.confirmed)
            guard state.failure == nil, free > 0, limit > 0 else { return nil }
            let count = min(free, limit)
            // Reserved before any message is handed over: a report may come back before produce returns.
            defer { state.produced += UInt64(count) }
            return (state.produced, count)
        }
        guard let reserved else {
            core.endHandleUse()
            return nil
        }
        return KafkaLaneChunk(lane: self, start: reserved.start, reserved: reserved.count)
    }

    /// Gives back the chunk's unused slots (no report will come for them).
    package func endChunk(_ chunk: KafkaLaneChunk) {
        state.withLock { state in
            state.produced = chunk.start + UInt64(chunk.used)
            state.outstandingBytes += chunk.usedBytes
        }
        core.endHandleUse()
    }

    fileprivate func rdkafkaProduce(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, headers: OpaquePointer,
                                opaque: UnsafeMutableRawPointer?) -> OpaquePointer? {
        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6) { arguments in
            arguments[0].vtype = RD_KAFKA_VTYPE_TOPIC
            arguments[0].u.cstr = UnsafePointer(topicName)
            arguments[1] = .copyFlag
            arguments[2] = .opaque(opaque)
            arguments[3] = .headers(headers)
            arguments[4] = .bytes(RD_KAFKA_VTYPE_VALUE, value)
            guard let key else { return rd_kafka_produceva(handle, arguments.baseAddress, 5) }
            arguments[5] = .bytes(RD_KAFKA_VTYPE_KEY, key)
            return rd_kafka_produceva(handle, arguments.baseAddress, 6)
        }
    }

    /// Passes `body` the tag and stamp of every message newly added to the delivered prefix, in produce
    /// order; returns their count.
    @discardableResult
    package func takeConfirmed(_ body: (_ tag: Int64, _ stamp: Double) -> Void) -> Int {
        state.withLock { state in
            var count = 0
            let mask = UInt64(capacity - 1)
            while state.confirmed < state.produced, status[Int(state.confirmed & mask)] == 1 {
                let slot = Int(state.confirmed & mask)
                body(tags[slot], stamps[slot])
                state.outstandingBytes -= sizes[slot]
                state.confirmed += 1
                count += 1
            }
            state.reported -= count
            return count
        }
    }

    /// Whether every produced message was reported (delivered or failed).
    package var allReported: Bool {
        state.withLock { state in state.reported == Int(state.produced - state.confirmed) }
    }

    /// The prefix can move (a delivered message at its head), or everything produced was reported:
    /// nothing to wait for.
    package var hasUnseenReports: Bool {
        state.withLock { state in
            let outstanding = Int(state.produced - state.confirmed)
            guard outstanding > 0 else { return false }
            return status[Int(state.confirmed & UInt64(capacity - 1))] == 1 || state.reported == outstanding
        }
    }

    /// Poll thread: the reports of one delivery-report event for this lane (sequence low bits, error).
    func record(_ reports: UnsafeBufferPointer<(sequence: UInt32, error: rd_kafka_resp_err_t)>, failure: (rd_kafka_resp_err_t) -> KafkaError) {
        // Made before taking the lock: `failure` may consult the producer's own state.
        let firstFailure = reports.first { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }.map { failure($0.error) }
        state.withLock { state in
            let mask = UInt64(capacity - 1)
            for report in reports {
                // The full sequence is the one within `capacity` below `produced` with these low bits.
                let low = UInt64(report.sequence)
                var sequence = (state.produced & ~0xFFFF_FFFF) | low
                if sequence >= state.produced { sequence &-= 1 << 32 }
                guard sequence >= state.confirmed, sequence < state.produced else { continue }
                let slot = Int(sequence & mask)
                guard status[slot] == 0 else { continue }
                state.reported += 1
                if report.error == RD_KAFKA_RESP_ERR_NO_ERROR {
                    status[slot] = 1
                } else {
                    status[slot] = 2
                    if state.failure == nil { state.failure = firstFailure }
                }
            }
        }
        onReports()
    }

    /// Stops tallying: later reports of this lane are dropped. Call once the lane is no longer used.
    package func close() {
        core.removeLane(id)
    }
}

/// The slots one ``KafkaProduceLane/beginChunk(limit:)`` reserved, taken one message at a time.
package struct KafkaLaneChunk {
    fileprivate let lane: KafkaProduceLane
    fileprivate let start: UInt64
    fileprivate let reserved: Int
    /// Messages handed over so far (they hold the first `used` slots), and the sum of their sizes.
    package private(set) var used = 0
    package private(set) var usedBytes = 0

    fileprivate init(lane: KafkaProduceLane, start: UInt64, reserved: Int) {
        self.lane = lane
        self.start = start
        self.reserved = reserved
    }

    /// Produces one message into the next slot; `headers` adds its headers (`headerCount` is a capacity
    /// hint), `size` is what it counts for in ``KafkaProduceLane/outstandingBytes``. The bytes are
    /// copied before this returns.
    package mutating func produce(tag: Int64, stamp: Double, size: Int, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
                                  headerCount: Int, headers: (KafkaHeaderWriter) -> Void) -> KafkaProduceLane.Enqueued {
        guard used < reserved else { return .full }
        guard let list = rd_kafka_headers_new(headerCount) else {
            return .refused(KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "cannot allocate a header list"))
        }
        headers(KafkaHeaderWriter(list: list))
        let sequence = start + UInt64(used)
        let slot = Int(sequence & UInt64(lane.capacity - 1))
        lane.tags[slot] = tag
        lane.stamps[slot] = stamp
        lane.status[slot] = 0
        lane.sizes[slot] = size
        let opaque = UnsafeMutableRawPointer(bitPattern: UInt(lane.id) << 32 | UInt(truncatingIfNeeded: sequence & 0xFFFF_FFFF))
        guard let error = lane.rdkafkaProduce(key: key, value: value, headers: list, opaque: opaque) else {
            used += 1
            usedBytes += size
            return .queued
        }
        rd_kafka_headers_destroy(list)  // still ours after a failed produce
        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            rd_kafka_error_destroy(error)
            return .full
        }
        return .refused(KafkaError(consuming: error))
    }
}

/// Adds headers to one message's librdkafka header list (names and values are copied).
package struct KafkaHeaderWriter {
    fileprivate let list: OpaquePointer
    private static var empty: UnsafeRawPointer { UnsafeRawPointer(ProduceArgumentEmpty.byte) }

    package func add(_ name: StaticString, _ value: UnsafeRawBufferPointer) {
        name.withUTF8Buffer { name in
            name.withMemoryRebound(to: CChar.self) { name in
                _ = rd_kafka_header_add(list, name.baseAddress, name.count, value.baseAddress ?? Self.empty, value.count)
            }
        }
    }

    package func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        name.withMemoryRebound(to: CChar.self) { name in
            _ = rd_kafka_header_add(list, name.baseAddress ?? UnsafePointer(ProduceArgumentEmpty.byte.assumingMemoryBound(to: CChar.self)),
                                    name.count, value.baseAddress ?? Self.empty, value.count)
        }
    }
}
