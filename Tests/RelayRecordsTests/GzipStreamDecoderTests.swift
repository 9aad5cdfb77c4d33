// GzipStreamDecoder: round trips, multi-member bodies, truncation and corruption, bounded pieces.

@testable import RelayGzip
@testable import RelayRecords
import Testing

@Suite struct GzipStreamDecoderTests {
    /// Feeds `compressed` in chunks of `chunkSize` and collects every piece.
    private func gunzip(_ compressed: [UInt8], chunkSize: Int, pieceSize: Int = GzipStreamDecoder.defaultPieceSize) throws(ExportDataError) -> [UInt8] {
        let decoder = GzipStreamDecoder(pieceSize: pieceSize)
        var out: [UInt8] = []
        var offset = 0
        while offset < compressed.count {
            let end = min(compressed.count, offset + chunkSize)
            decoder.setInput(Array(compressed[offset..<end]))
            while let piece = try decoder.nextPiece() { out.append(contentsOf: piece) }
            offset = end
        }
        try decoder.finish()
        return out
    }

    @Test func roundTripsInAnyChunkSize() throws {
        let text = Array((0..<2000).map { "{\"id\":\($0),\"name\":\"user \($0)\"}\n" }.joined().utf8)
        let compressed = GzipFixtures.gzip(text)
        #expect(compressed.count < text.count / 3)
        for chunkSize in [1, 7, 100, 4096, compressed.count] {
            #expect(try gunzip(compressed, chunkSize: chunkSize) == text)
        }
        #expect(try gunzip(compressed, chunkSize: 333, pieceSize: 17) == text)
    }

    @Test func decodesEveryTwoChunkSplitWithSmallPieces() throws {
        let text = Array((0..<40).map { "{\"id\":\($0),\"segment\":\"all-the-customers\"}\n" }.joined().utf8)
        let compressed = GzipFixtures.gzip(text) + GzipFixtures.gzip(Array(text.prefix(100)))
        for cut in 0...compressed.count {
            for pieceSize in [1, 7, 300] {
                let decoder = GzipStreamDecoder(pieceSize: pieceSize)
                var out: [UInt8] = []
                for chunk in [Array(compressed[..<cut]), Array(compressed[cut...])] {
                    decoder.setInput(chunk)
                    while let piece = try decoder.nextPiece() {
                        #expect(piece.count <= pieceSize)
                        out.append(contentsOf: piece)
                    }
                }
                try decoder.finish()
                #expect(out == text + text.prefix(100), "cut \(cut), piece size \(pieceSize)")
            }
        }
    }

    @Test func decodesAFixtureFromTheGzipTool() throws {
        // `printf '{"id":1}\n' | gzip -n` (gzip 1.12): a header written by another encoder.
        let fixture: [UInt8] = [
            0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xAB, 0x56, 0xCA, 0x4C, 0x51, 0xB2,
            0x32, 0xAC, 0xE5, 0x02, 0x00, 0x54, 0x6D, 0x9D, 0xD9, 0x09, 0x00, 0x00, 0x00,
        ]
        #expect(try gunzip(fixture, chunkSize: 5) == Array("{\"id\":1}\n".utf8))
    }

    @Test func decodesConcatenatedMembers() throws {
        let first = Array("{\"member\":1}\n".utf8)
        let second = Array((0..<500).map { "{\"member\":2,\"n\":\($0)}\n" }.joined().utf8)
        let body = GzipFixtures.gzip(first) + GzipFixtures.gzip(second) + GzipFixtures.gzip([])
        for chunkSize in [1, 3, 64, body.count] {
            #expect(try gunzip(body, chunkSize: chunkSize) == first + second)
        }
    }

    @Test func reportsATruncatedStream() {
        let compressed = GzipFixtures.gzip(Array(String(repeating: "{\"a\":1}\n", count: 100).utf8))
        for cut in [1, 10, compressed.count / 2, compressed.count - 1] {
            #expect(throws: ExportDataError.self) { try gunzip(Array(compressed[..<cut]), chunkSize: 7) }
            do {
                _ = try gunzip(Array(compressed[..<cut]), chunkSize: 7)
            } catch {
                #expect(error.kind == .truncatedGzip)
            }
        }
        let twoMembers = GzipFixtures.gzip([1, 2, 3]) + GzipFixtures.gzip([4, 5, 6])
        #expect(throws: ExportDataError.self) { try gunzip(Array(twoMembers.dropLast(3)), chunkSize: 4) }
    }

    @Test func reportsAnEmptyBody() {
        #expect(throws: ExportDataError(kind: .truncatedGzip, line: nil, reason: "gzip body is empty")) {
            try gunzip([], chunkSize: 1)
        }
    }

    @Test func reportsCorruptData() {
        var compressed = GzipFixtures.gzip(Array(String(repeating: "abcdefgh", count: 50).utf8))
        compressed[compressed.count - 6] ^= 0xFF // CRC-32 of the trailer
        do {
            _ = try gunzip(compressed, chunkSize: 16)
            Issue.record("a CRC mismatch must be refused")
        } catch {
            #expect(error.kind == .corruptGzip)
            #expect(error.reason.hasPrefix("corrupt gzip data: "))
        }
        let notGzip = Array("{\"plain\":true}".utf8)
        #expect(throws: ExportDataError.self) { try gunzip(notGzip, chunkSize: 4) }
        let trailingGarbage = GzipFixtures.gzip([1, 2, 3]) + Array("garbage".utf8)
        #expect(throws: ExportDataError.self) { try gunzip(trailingGarbage, chunkSize: 4) }
    }

    @Test func highlyCompressibleInputComesOutInBoundedPieces() throws {
        let size = 50 * 1024 * 1024
        let compressed = GzipFixtures.gzip(GzipFixtures.compressibleJSONLines(size: size), level: 9)
        #expect(compressed.count < size / 200)
        let decoder = GzipStreamDecoder()
        var total = 0
        var largest = 0
        var offset = 0
        while offset < compressed.count {
            let end = min(compressed.count, offset + 64 * 1024)
            decoder.setInput(Array(compressed[offset..<end]))
            while let piece = try decoder.nextPiece() {
                total += piece.count
                largest = max(largest, piece.count)
            }
            offset = end
        }
        try decoder.finish()
        #expect(total == size - size % 36)
        #expect(largest == GzipStreamDecoder.defaultPieceSize)
    }

    @Test func recognisesTheGzipMagicNumber() {
        #expect(GzipStreamDecoder.looksGzipped([0x1F, 0x8B, 0x08]))
        #expect(GzipStreamDecoder.looksGzipped(GzipFixtures.gzip([1])))
        #expect(!GzipStreamDecoder.looksGzipped([0x1F]))
        #expect(!GzipStreamDecoder.looksGzipped(Array("{\"a\":1}".utf8)))
        #expect(!GzipStreamDecoder.looksGzipped([]))
    }
}
