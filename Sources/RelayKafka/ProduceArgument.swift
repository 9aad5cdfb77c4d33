// The `rd_kafka_produceva` arguments both produce paths pass (the poll loop's batches, the lanes' chunks).
import CRdKafka

extension rd_kafka_vu_t {
    /// librdkafka copies key, value and headers before `rd_kafka_produceva` returns.
    static var copyFlag: rd_kafka_vu_t {
        var argument = rd_kafka_vu_t()
        argument.vtype = RD_KAFKA_VTYPE_MSGFLAGS
        argument.u.i = RD_KAFKA_MSG_F_COPY
        return argument
    }

    static func opaque(_ pointer: UnsafeMutableRawPointer?) -> rd_kafka_vu_t {
        var argument = rd_kafka_vu_t()
        argument.vtype = RD_KAFKA_VTYPE_OPAQUE
        argument.u.ptr = pointer
        return argument
    }

    /// A header list, owned by librdkafka once the produce succeeds.
    static func headers(_ list: OpaquePointer) -> rd_kafka_vu_t {
        var argument = rd_kafka_vu_t()
        argument.vtype = RD_KAFKA_VTYPE_HEADERS
        argument.u.headers = list
        return argument
    }

    /// A value or key (`RD_KAFKA_VTYPE_VALUE` / `_KEY`); empty bytes get a non-null address (null means absent).
    static func bytes(_ type: rd_kafka_vtype_t, _ buffer: UnsafeRawBufferPointer) -> rd_kafka_vu_t {
        var argument = rd_kafka_vu_t()
        argument.vtype = type
        argument.u.mem.ptr = UnsafeMutableRawPointer(mutating: buffer.baseAddress) ?? ProduceArgumentEmpty.byte
        argument.u.mem.size = buffer.count
        return argument
    }
}

/// A non-null address for empty values, keys, header names and header values.
enum ProduceArgumentEmpty {
    nonisolated(unsafe) static let byte: UnsafeMutableRawPointer = {
        let byte = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
        byte.storeBytes(of: 0, as: UInt8.self)
        return byte
    }()
}
