import Codecs
import Testing

/// PNG files built here byte by byte (chunks, filters, zlib), so that each filter, each size
/// check and each kind of damage can be aimed at. Files written by an independent encoder are
/// decoded in DatasetsTests (`Fixtures/png`, made by pypng).
@Suite("PNG")
struct PNGTests {
    /// One chunk: length, type, data, CRC-32.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        let n = UInt32(data.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] + typeBytes + data
            + bigEndian(Zlib.crc32(typeBytes + data))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    static func ihdr(width: UInt32, height: UInt32, depth: UInt8, colorType: UInt8, interlace: UInt8 = 0) -> [UInt8] {
        chunk("IHDR", bigEndian(width) + bigEndian(height) + [depth, colorType, 0, 0, interlace])
    }

    /// Filters one packed row with `type` against the previous (unfiltered) row.
    static func filter(_ row: [UInt8], previous: [UInt8]?, type: UInt8, bpp: Int) -> [UInt8] {
        let up = previous ?? [UInt8](repeating: 0, count: row.count)
        var out: [UInt8] = [type]
        for i in row.indices {
            let a = i >= bpp ? Int(row[i - bpp]) : 0, b = Int(up[i]), c = i >= bpp ? Int(up[i - bpp]) : 0
            let predictor: Int
            switch type {
            case 0: predictor = 0
            case 1: predictor = a
            case 2: predictor = b
            case 3: predictor = (a + b) / 2
            default:
                let p = a + b - c
                let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
            }
            out.append(UInt8(truncatingIfNeeded: Int(row[i]) - predictor))
        }
        return out
    }

    /// A non-interlaced PNG of packed rows, row `y` filtered with `filters[y % filters.count]`.
    static func png(width: Int, height: Int, depth: UInt8, colorType: UInt8, rows: [[UInt8]], filters: [UInt8],
                    bpp: Int, extra: [[UInt8]] = []) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0..<height { raw += filter(rows[y], previous: y > 0 ? rows[y - 1] : nil, type: filters[y % filters.count], bpp: bpp) }
        return PNG.signature + ihdr(width: UInt32(width), height: UInt32(height), depth: depth, colorType: colorType)
            + extra.joined() + chunk("IDAT", Zlib.compress(raw)) + chunk("IEND", [])
    }

    /// Deterministic bytes.
    static func bytes(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761 &+ seed &* 40503) >> 7) }
    }

    func decodeError(_ bytes: [UInt8], maximumSamples: Int = PNG.defaultMaximumSamples) -> PNGError? {
        do { _ = try PNG.decode(bytes, maximumSamples: maximumSamples); return nil } catch { return error }
    }

    @Test("each of the five filters, alone and mixed per row, decodes to the samples (RGB 8-bit, grey 16-bit, grey 2-bit)")
    func filters() throws {
        let (w, h) = (7, 6)
        let rgbRows = (0..<h).map { Self.bytes(w * 3, seed: $0) }
        let greyRows = (0..<h).map { Self.bytes(w * 2, seed: 100 + $0) }
        let packedRows = (0..<h).map { Self.bytes((w * 2 + 7) / 8, seed: 200 + $0) }
        for filters in [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0]] as [[UInt8]] {
            let rgb = try PNG.decode(Self.png(width: w, height: h, depth: 8, colorType: 2, rows: rgbRows, filters: filters, bpp: 3))
            #expect(rgb.channels == 3 && rgb.bitDepth == 8 && rgb.samples == rgbRows.joined().map(UInt16.init), "filters \(filters)")
            let grey = try PNG.decode(Self.png(width: w, height: h, depth: 16, colorType: 0, rows: greyRows, filters: filters, bpp: 2))
            let expected16 = greyRows.flatMap { row in stride(from: 0, to: row.count, by: 2).map { UInt16(row[$0]) << 8 | UInt16(row[$0 + 1]) } }
            #expect(grey.maxValue == 65535 && grey.samples == expected16, "filters \(filters)")
            let packed = try PNG.decode(Self.png(width: w, height: h, depth: 2, colorType: 0, rows: packedRows, filters: filters, bpp: 1))
            let expected2 = packedRows.flatMap { row in (0..<w).map { UInt16(row[$0 / 4] >> UInt8(6 - 2 * ($0 % 4)) & 3) } }
            #expect(packed.maxValue == 3 && packed.samples == expected2, "filters \(filters)")
        }
    }

    @Test("a palette image expands to RGB, with tRNS to RGBA; an index beyond PLTE is an error")
    func palette() throws {
        let plte = Self.chunk("PLTE", [10, 20, 30, 40, 50, 60, 70, 80, 90])
        let rows: [[UInt8]] = [[0, 1, 2], [2, 1, 0]]
        let rgb = try PNG.decode(Self.png(width: 3, height: 2, depth: 8, colorType: 3, rows: rows, filters: [0], bpp: 1, extra: [plte]))
        #expect(rgb.channels == 3 && rgb.samples.prefix(6) == [10, 20, 30, 40, 50, 60])
        let rgba = try PNG.decode(Self.png(width: 3, height: 2, depth: 8, colorType: 3, rows: rows, filters: [0], bpp: 1,
                                           extra: [plte, Self.chunk("tRNS", [0, 128])]))
        #expect(rgba.channels == 4 && rgba.samples.prefix(12) == [10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255])
        let bad = decodeError(Self.png(width: 3, height: 2, depth: 8, colorType: 3, rows: [[0, 1, 3], [0, 0, 0]], filters: [0], bpp: 1, extra: [plte]))
        #expect(bad?.message == "palette index 3 is outside the 3 PLTE entries")
        let missing = decodeError(Self.png(width: 3, height: 2, depth: 8, colorType: 3, rows: rows, filters: [0], bpp: 1))
        #expect(missing?.message == "a palette image without a PLTE chunk")
    }

    @Test("a bad CRC names the chunk and its offset")
    func badCRC() {
        var file = Self.png(width: 2, height: 2, depth: 8, colorType: 0, rows: [[1, 2], [3, 4]], filters: [0], bpp: 1)
        let idat = 8 + 25   // signature, IHDR chunk
        file[idat + 8] ^= 0x40   // a byte of the IDAT data
        let error = decodeError(file)
        #expect(error?.offset == idat && error?.chunk == "IDAT")
        #expect(error?.message.hasPrefix("CRC mismatch: stored ") == true, "\(String(describing: error))")
    }

    @Test("a truncated IDAT (the zlib stream cut short, CRC valid) and a truncated file are errors")
    func truncated() {
        let rows = (0..<8).map { Self.bytes(8, seed: $0) }
        var raw: [UInt8] = []
        for row in rows { raw += [0] + row }
        let compressed = Zlib.compress(raw)
        let file = PNG.signature + Self.ihdr(width: 8, height: 8, depth: 8, colorType: 0)
            + Self.chunk("IDAT", Array(compressed.prefix(compressed.count / 2))) + Self.chunk("IEND", [])
        let error = decodeError(file)
        #expect(error?.chunk == "IDAT" && error?.message.hasPrefix("truncated image data: the zlib stream breaks off after") == true,
                "\(String(describing: error))")
        let whole = PNG.signature + Self.ihdr(width: 8, height: 8, depth: 8, colorType: 0) + Self.chunk("IDAT", compressed) + Self.chunk("IEND", [])
        #expect((try? PNG.decode(whole))?.samples == rows.joined().map(UInt16.init))
        let cut = decodeError(Array(whole.prefix(whole.count - 20)))
        #expect(cut?.message.contains("truncated: the chunk announces") == true || cut?.message.contains("ends inside a chunk header") == true,
                "\(String(describing: cut))")
        // More data than the IHDR announces.
        let long = PNG.signature + Self.ihdr(width: 8, height: 7, depth: 8, colorType: 0) + Self.chunk("IDAT", compressed) + Self.chunk("IEND", [])
        #expect(decodeError(long)?.message == "more image data than the 63 bytes of filtered scanlines IHDR announces")
    }

    @Test("huge IHDR dimensions are refused by product before any allocation")
    func hugeDimensions() {
        let idat = Self.chunk("IDAT", Zlib.compress([0, 0]))
        func file(_ w: UInt32, _ h: UInt32, _ colorType: UInt8, _ depth: UInt8 = 8) -> [UInt8] {
            PNG.signature + Self.ihdr(width: w, height: h, depth: depth, colorType: colorType) + idat + Self.chunk("IEND", [])
        }
        // 2^31−1 squared overflows nothing in Int64 but is far beyond the limit.
        let giant = decodeError(file(0x7fff_ffff, 0x7fff_ffff, 6))
        #expect(giant?.chunk == "IHDR" && giant?.message == "2147483647×2147483647 pixels × 4 channels exceed the 268435456 samples allowed")
        #expect(decodeError(file(0x8000_0000, 1, 0))?.message == "expected a width and height in 1…2^31 − 1, found 2147483648×1")
        // Within the sample limit, but more than a few bytes of IDAT can inflate to.
        let big = decodeError(file(10000, 10000, 0))
        #expect(big?.chunk == "IDAT" && big?.message.hasPrefix("10000×10000 needs 100010000 bytes of filtered scanlines, more than the") == true,
                "\(String(describing: big))")
        #expect(decodeError(file(100, 100, 2), maximumSamples: 1000)?.message == "100×100 pixels × 3 channels exceed the 1000 samples allowed")
    }

    @Test("Adam7: an interlaced image equals the same image stored plainly")
    func adam7() throws {
        let (w, h) = (11, 9)
        let pixels = Self.bytes(w * h, seed: 7)
        var raw: [UInt8] = []
        for (k, pass) in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)].enumerated() {
            var previous: [UInt8]?
            for y in stride(from: pass.1, to: h, by: pass.3) {
                let row = stride(from: pass.0, to: w, by: pass.2).map { pixels[y * w + $0] }
                if row.isEmpty { continue }
                raw += Self.filter(row, previous: previous, type: UInt8((k + y) % 5), bpp: 1)
                previous = row
            }
        }
        let file = PNG.signature + Self.ihdr(width: UInt32(w), height: UInt32(h), depth: 8, colorType: 0, interlace: 1)
            + Self.chunk("IDAT", Zlib.compress(raw)) + Self.chunk("IEND", [])
        #expect(try PNG.decode(file).samples == pixels.map(UInt16.init))
    }

    @Test("structure: signature, IHDR first, valid depth, IEND, no unknown critical chunk, consecutive IDATs")
    func structure() {
        let good = Self.png(width: 2, height: 1, depth: 8, colorType: 0, rows: [[5, 6]], filters: [0], bpp: 1)
        #expect((try? PNG.decode(good))?.samples == [5, 6])
        #expect(decodeError([0x89, 0x50, 0x4e, 0x47])?.message.hasPrefix("expected the PNG signature") == true)
        #expect(decodeError(Array(good.prefix(good.count - 12)))?.message == "the file ends without an IEND chunk")
        #expect(decodeError(Array(good.prefix(good.count - 5)))?.message == "the file ends inside a chunk header (7 bytes left, a chunk needs at least 12)")
        let depth = PNG.signature + Self.ihdr(width: 1, height: 1, depth: 4, colorType: 2) + Self.chunk("IEND", [])
        #expect(decodeError(depth)?.message == "bit depth 4 is not allowed with colour type 2 (allowed: 8, 16)")
        var critical = good
        critical.insert(contentsOf: Self.chunk("ABCD", [1]), at: 8 + 25)
        #expect(decodeError(critical)?.chunk == "ABCD" && decodeError(critical)?.message == "unknown critical chunk")
        var ancillary = good
        ancillary.insert(contentsOf: Self.chunk("teXt", Array("a\0b".utf8)), at: 8 + 25)
        #expect((try? PNG.decode(ancillary))?.samples == [5, 6])
        let raw = Zlib.compress([0, 5, 6])
        let split = PNG.signature + Self.ihdr(width: 2, height: 1, depth: 8, colorType: 0) + Self.chunk("IDAT", Array(raw.prefix(4)))
            + Self.chunk("teXt", [65]) + Self.chunk("IDAT", Array(raw.dropFirst(4))) + Self.chunk("IEND", [])
        #expect(decodeError(split)?.message == "IDAT chunks must be consecutive")
        let joined = PNG.signature + Self.ihdr(width: 2, height: 1, depth: 8, colorType: 0) + Self.chunk("IDAT", Array(raw.prefix(4)))
            + Self.chunk("IDAT", []) + Self.chunk("IDAT", Array(raw.dropFirst(4))) + Self.chunk("IEND", [])
        #expect((try? PNG.decode(joined))?.samples == [5, 6])
        let badFilter = PNG.signature + Self.ihdr(width: 2, height: 1, depth: 8, colorType: 0) + Self.chunk("IDAT", Zlib.compress([7, 5, 6])) + Self.chunk("IEND", [])
        #expect(decodeError(badFilter)?.message == "unknown filter type 7 at row 0 (expected 0…4)")
    }

    /// Recomputes every chunk's CRC (so that damage reaches the decoder's later checks).
    static func fixCRCs(_ file: inout [UInt8]) {
        var position = 8
        while position + 12 <= file.count {
            let length = Int(file[position]) << 24 | Int(file[position + 1]) << 16 | Int(file[position + 2]) << 8 | Int(file[position + 3])
            guard length <= file.count - position - 12 else { return }
            let crc = bigEndian(Zlib.crc32(Array(file[position + 4..<position + 8 + length])))
            file.replaceSubrange(position + 8 + length..<position + 12 + length, with: crc)
            position += 12 + length
        }
    }

    @Test("damaged files with valid CRCs (2,000 deterministic mutations) decode or throw, never trap")
    func mutations() {
        let (w, h) = (9, 7)
        var raw: [UInt8] = []
        for k in 0..<7 {   // Adam7 passes of a 16-bit RGBA image: 8 bytes per pixel
            let pass = Self.adam7[k]
            let pw = w > pass.0 ? (w - pass.0 + pass.2 - 1) / pass.2 : 0, ph = h > pass.1 ? (h - pass.1 + pass.3 - 1) / pass.3 : 0
            if pw == 0 || ph == 0 { continue }
            for y in 0..<ph { raw += [UInt8((k + y) % 5)] + Self.bytes(pw * 8, seed: k * 10 + y) }
        }
        let seeds = [
            PNG.signature + Self.ihdr(width: UInt32(w), height: UInt32(h), depth: 16, colorType: 6, interlace: 1)
                + Self.chunk("IDAT", Zlib.compress(raw)) + Self.chunk("IEND", []),
            Self.png(width: 5, height: 4, depth: 4, colorType: 3, rows: (0..<4).map { Self.bytes(3, seed: $0) }, filters: [0, 4], bpp: 1,
                     extra: [Self.chunk("PLTE", Self.bytes(48, seed: 9)), Self.chunk("tRNS", [1, 2, 3])]),
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        var decoded = 0, refused = 0
        for round in 0..<2000 {
            var file = seeds[round % seeds.count]
            for _ in 0..<(1 + next() % 3) {
                let i = 8 + next() % (file.count - 8)
                file[i] = UInt8(truncatingIfNeeded: next())
            }
            Self.fixCRCs(&file)
            do {
                let image = try PNG.decode(file, maximumSamples: 1 << 20)
                #expect(image.samples.count == image.width * image.height * image.channels)
                decoded += 1
            } catch {
                refused += 1
            }
        }
        #expect(decoded + refused == 2000 && refused > 0)
    }

    static let adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
}
