// Test helpers: gzip bytes made with zlib's own deflate, so the tests need no external tool.

import RelayExport

enum GzipFixtures {
    /// `data` compressed as one gzip member.
    static func gzip(_ data: [UInt8], level: Int32 = 6) -> [UInt8] {
        GzipEncoder.gzip(data, level: level)
    }

    /// `size` bytes of one repeated JSON line: compresses about 1000:1.
    static func compressibleJSONLines(size: Int) -> [UInt8] {
        let line = Array("{\"profileId\":\"p-1\",\"segment\":\"all\"}\n".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(size)
        while out.count + line.count <= size { out.append(contentsOf: line) }
        return out
    }
}
