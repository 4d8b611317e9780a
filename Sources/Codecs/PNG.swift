// A PNG decoder (ISO/IEC 15948, W3C PNG 2nd edition): every colour type and bit depth, all five
// filters, Adam7 interlacing; sizes checked by product before anything is allocated.
internal import CZlib

/// A decoded PNG image, samples row-major with channels interleaved.
public struct PNGImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. Palette images are expanded to RGB, or to RGBA when
    /// they carry a `tRNS` chunk.
    public let channels: Int
    /// The bit depth of the samples: 1, 2, 4, 8 or 16 (8 for palette images, whose palette
    /// entries are 8-bit).
    public let bitDepth: Int
    /// `height × width × channels` samples, each in `0...maxValue`.
    public let samples: [UInt16]

    /// The largest sample value, `2^bitDepth − 1`.
    public var maxValue: Int { (1 << bitDepth) - 1 }
}

/// Why bytes are not a PNG image this decoder accepts. `description` reads
/// `[byte offset N: ][chunk XXXX: ]message`.
public struct PNGError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The byte offset of the chunk or field at fault, when there is one.
    public let offset: Int?
    /// The chunk type at fault (`IHDR`, `IDAT`, …), when there is one.
    public let chunk: String?
    public let message: String

    public init(offset: Int? = nil, chunk: String? = nil, _ message: String) {
        self.offset = offset
        self.chunk = chunk
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if let offset { parts.append("byte offset \(offset)") }
        if let chunk { parts.append("chunk \(chunk)") }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// PNG decoding.
///
/// Accepted: colour types 0 (grey, 1/2/4/8/16-bit), 2 (RGB, 8/16), 3 (palette, 1/2/4/8),
/// 4 (grey + alpha, 8/16) and 6 (RGBA, 8/16); filter types None, Sub, Up, Average and Paeth;
/// interlace methods 0 (none) and 1 (Adam7). Every chunk's CRC-32 is checked; critical chunks
/// other than IHDR, PLTE, IDAT and IEND are refused, ancillary ones skipped. Palette images
/// become 8-bit RGB, or RGBA with their `tRNS` alphas; the single transparent colour `tRNS` of
/// grey and RGB images is ignored (the samples are returned as stored). Gamma, colour profiles
/// and text chunks are ignored.
///
/// Safety: the image size `width × height × channels` is computed with overflow checks and
/// compared with `maximumSamples`, and the filtered data it implies with what the IDAT chunks
/// can hold at deflate's largest ratio (1032:1), before any allocation for pixels; inflation
/// writes into a buffer of exactly the announced size and refuses more data.
///
/// - Complexity: O(file bytes + width × height × channels).
public enum PNG {
    /// The 8-byte signature every PNG file starts with.
    public static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    /// The default bound on `width × height × channels`: 2^28 samples (512 MiB as `UInt16`).
    public static let defaultMaximumSamples = 1 << 28

    /// Whether `bytes` start with the PNG signature.
    public static func hasSignature(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && Array(bytes.prefix(8)) == signature
    }

    /// Decodes a whole PNG file.
    /// - Throws: `PNGError` naming the byte offset and chunk of the first fault.
    public static func decode(_ bytes: [UInt8], maximumSamples: Int = defaultMaximumSamples) throws(PNGError) -> PNGImage {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(PNGError) -> PNGImage in try decode(buffer, maximumSamples: maximumSamples) }
        }
        return try result.get()
    }

    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, maximumSamples: Int) throws(PNGError) -> PNGImage {
        guard bytes.count >= 8, Array(bytes.prefix(8)) == signature else {
            throw PNGError(offset: 0, "expected the PNG signature 89 50 4E 47 0D 0A 1A 0A")
        }
        let chunks = try readChunks(bytes)
        guard let first = chunks.first, first.type == "IHDR" else {
            throw PNGError(offset: 8, chunk: chunks.first?.type, "expected IHDR as the first chunk")
        }
        let header = try Header(bytes, first)
        var palette: [UInt8]?        // RGB triples
        var alphas: [UInt8]?         // tRNS of a palette image
        var idat: [Chunk] = []
        var sawIEND = false
        var idatEnded = false
        for chunk in chunks.dropFirst() {
            if !idat.isEmpty && chunk.type != "IDAT" { idatEnded = true }
            switch chunk.type {
            case "IHDR":
                throw PNGError(offset: chunk.offset, chunk: chunk.type, "a second IHDR chunk")
            case "PLTE":
                guard palette == nil, idat.isEmpty else {
                    throw PNGError(offset: chunk.offset, chunk: chunk.type, "PLTE must appear once, before the IDAT chunks")
                }
                guard chunk.length > 0, chunk.length % 3 == 0, chunk.length / 3 <= 256 else {
                    throw PNGError(offset: chunk.offset, chunk: chunk.type, "expected 1…256 RGB entries (a length multiple of 3 up to 768), found \(chunk.length) bytes")
                }
                if header.colorType == 3 && chunk.length / 3 > 1 << header.bitDepth {
                    throw PNGError(offset: chunk.offset, chunk: chunk.type, "\(chunk.length / 3) entries exceed the \(1 << header.bitDepth) a \(header.bitDepth)-bit palette index can address")
                }
                if header.colorType == 0 || header.colorType == 4 {
                    throw PNGError(offset: chunk.offset, chunk: chunk.type, "a PLTE chunk in a grey image")
                }
                palette = Array(bytes[chunk.data..<chunk.data + chunk.length])
            case "tRNS":
                guard idat.isEmpty else { throw PNGError(offset: chunk.offset, chunk: chunk.type, "tRNS must come before the IDAT chunks") }
                if header.colorType == 3 {
                    guard let palette else { throw PNGError(offset: chunk.offset, chunk: chunk.type, "tRNS before PLTE") }
                    guard chunk.length <= palette.count / 3 else {
                        throw PNGError(offset: chunk.offset, chunk: chunk.type, "\(chunk.length) alpha values for \(palette.count / 3) palette entries")
                    }
                    alphas = Array(bytes[chunk.data..<chunk.data + chunk.length])
                }
            case "IDAT":
                guard !idatEnded else { throw PNGError(offset: chunk.offset, chunk: chunk.type, "IDAT chunks must be consecutive") }
                idat.append(chunk)
            case "IEND":
                sawIEND = true
            default:
                // Bit 5 of the first byte clear: a critical chunk this decoder does not know.
                if bytes[chunk.offset + 4] & 0x20 == 0 {
                    throw PNGError(offset: chunk.offset, chunk: chunk.type, "unknown critical chunk")
                }
            }
        }
        guard sawIEND else { throw PNGError(offset: bytes.count, "the file ends without an IEND chunk") }
        guard !idat.isEmpty else { throw PNGError(offset: bytes.count, "no IDAT chunk: the image has no data") }
        if header.colorType == 3 && palette == nil {
            throw PNGError(offset: idat[0].offset, chunk: "IDAT", "a palette image without a PLTE chunk")
        }

        // Sizes, by product with overflow checks, before any allocation.
        let outChannels = header.colorType == 3 ? (alphas == nil ? 3 : 4) : header.fileChannels
        guard let pixels = multiplied(header.width, header.height), let sampleCount = multiplied(pixels, outChannels),
              sampleCount <= maximumSamples else {
            throw PNGError(offset: 16, chunk: "IHDR", "\(header.width)×\(header.height) pixels × \(outChannels) channels exceed the \(maximumSamples) samples allowed")
        }
        let passes = header.interlaced ? adam7 : [Pass(x: 0, y: 0, dx: 1, dy: 1)]
        var filteredBytes = 0
        var layouts: [(width: Int, height: Int, stride: Int, offset: Int)] = []
        for pass in passes {
            let w = pass.width(header.width), h = pass.height(header.height)
            let stride = w == 0 ? 0 : (w * header.bitsPerPixel + 7) / 8
            layouts.append((w, h, stride, filteredBytes))
            if w > 0 && h > 0 {
                guard let rows = multiplied(h, stride + 1) else {
                    throw PNGError(offset: 16, chunk: "IHDR", "\(header.width)×\(header.height) is too large")
                }
                filteredBytes += rows
            }
        }
        let compressed = idat.reduce(0) { $0 + $1.length }
        guard filteredBytes <= compressed &* 1032 &+ 1024 else {
            throw PNGError(offset: idat[0].offset, chunk: "IDAT",
                           "\(header.width)×\(header.height) needs \(filteredBytes) bytes of filtered scanlines, more than the \(compressed) bytes of IDAT data can hold")
        }

        var raw = try inflate(bytes, idat, size: filteredBytes)
        let bytesPerPixel = max(1, header.bitsPerPixel / 8)
        var samples = [UInt16](repeating: 0, count: sampleCount)
        try raw.withUnsafeMutableBufferPointer { rawBuffer throws(PNGError) in
            for (k, layout) in layouts.enumerated() where layout.width > 0 && layout.height > 0 {
                let pass = passes[k]
                try unfilter(rawBuffer.baseAddress! + layout.offset, rows: layout.height, stride: layout.stride,
                             bytesPerPixel: bytesPerPixel, pass: header.interlaced ? k + 1 : nil, idat: idat[0].offset)
                try expand(rawBuffer.baseAddress! + layout.offset, layout: (layout.width, layout.height, layout.stride), pass: pass,
                           header: header, palette: palette, alphas: alphas, outChannels: outChannels, into: &samples)
            }
        }
        return PNGImage(width: header.width, height: header.height, channels: outChannels,
                        bitDepth: header.colorType == 3 ? 8 : header.bitDepth, samples: samples)
    }

    // MARK: Chunks

    struct Chunk {
        /// Offset of the length field.
        let offset: Int
        let type: String
        /// Offset of the data.
        let data: Int
        let length: Int
    }

    /// Every chunk up to and including IEND (bytes after IEND are ignored), CRCs checked.
    private static func readChunks(_ bytes: UnsafeBufferPointer<UInt8>) throws(PNGError) -> [Chunk] {
        var chunks: [Chunk] = []
        var position = 8
        while true {
            if position == bytes.count { return chunks }   // no IEND: the caller says so
            guard bytes.count - position >= 12 else {
                throw PNGError(offset: position, "the file ends inside a chunk header (\(bytes.count - position) bytes left, a chunk needs at least 12)")
            }
            let length = Int(bigEndian32(bytes, position))
            let typeBytes = Array(bytes[position + 4..<position + 8])
            guard typeBytes.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }) else {
                throw PNGError(offset: position + 4, "expected a chunk type of four ASCII letters, found bytes \(typeBytes.map { String($0, radix: 16) }.joined(separator: " "))")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= Int(Int32.max) else {
                throw PNGError(offset: position, chunk: type, "length \(length) exceeds 2^31 − 1")
            }
            guard bytes.count - position - 12 >= length else {
                throw PNGError(offset: position, chunk: type, "truncated: the chunk announces \(length) bytes of data, the file holds \(bytes.count - position - 12)")
            }
            let stored = bigEndian32(bytes, position + 8 + length)
            let computed = UInt32(crc32(0, bytes.baseAddress! + position + 4, uInt(length + 4)))
            guard stored == computed else {
                throw PNGError(offset: position, chunk: type, "CRC mismatch: stored \(hex(stored)), computed \(hex(computed))")
            }
            chunks.append(Chunk(offset: position, type: type, data: position + 8, length: length))
            position += 12 + length
            if type == "IEND" { return chunks }
        }
    }

    private struct Header {
        let width: Int
        let height: Int
        let bitDepth: Int
        let colorType: Int
        let interlaced: Bool

        /// Channels as stored: palette indices count as one.
        var fileChannels: Int {
            switch colorType {
            case 2: return 3
            case 4: return 2
            case 6: return 4
            default: return 1
            }
        }
        var bitsPerPixel: Int { fileChannels * bitDepth }

        init(_ bytes: UnsafeBufferPointer<UInt8>, _ chunk: Chunk) throws(PNGError) {
            func fail(_ message: String) -> PNGError { PNGError(offset: chunk.offset, chunk: "IHDR", message) }
            guard chunk.length == 13 else { throw fail("expected 13 bytes, found \(chunk.length)") }
            let d = chunk.data
            width = Int(bigEndian32(bytes, d))
            height = Int(bigEndian32(bytes, d + 4))
            guard width >= 1, height >= 1, width <= Int(Int32.max), height <= Int(Int32.max) else {
                throw fail("expected a width and height in 1…2^31 − 1, found \(width)×\(height)")
            }
            bitDepth = Int(bytes[d + 8])
            colorType = Int(bytes[d + 9])
            let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
            guard let depths = allowed[colorType] else { throw fail("unknown colour type \(colorType) (expected 0, 2, 3, 4 or 6)") }
            guard depths.contains(bitDepth) else {
                throw fail("bit depth \(bitDepth) is not allowed with colour type \(colorType) (allowed: \(depths.map(String.init).joined(separator: ", ")))")
            }
            guard bytes[d + 10] == 0 else { throw fail("unknown compression method \(bytes[d + 10])") }
            guard bytes[d + 11] == 0 else { throw fail("unknown filter method \(bytes[d + 11])") }
            guard bytes[d + 12] <= 1 else { throw fail("unknown interlace method \(bytes[d + 12])") }
            interlaced = bytes[d + 12] == 1
        }
    }

    // MARK: Inflate

    /// Inflates the zlib stream spread over the IDAT chunks into exactly `size` bytes.
    private static func inflate(_ bytes: UnsafeBufferPointer<UInt8>, _ idat: [Chunk], size: Int) throws(PNGError) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard privacylab_inflate_init2(stream, 15) == Z_OK else {
            throw PNGError(chunk: "IDAT", "zlib could not start inflating")
        }
        defer { inflateEnd(stream) }
        var failure: PNGError?
        var produced = 0
        let spare = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        defer { spare.deallocate() }
        let output = [UInt8](unsafeUninitializedCapacity: size) { out, initialized in
            let base = UnsafeMutablePointer(mutating: bytes.baseAddress!)
            var chunkIndex = 0, consumed = 0
            while true {
                while chunkIndex < idat.count && consumed == idat[chunkIndex].length { chunkIndex += 1; consumed = 0 }
                let chunk = idat[min(chunkIndex, idat.count - 1)]
                let hasInput = chunkIndex < idat.count
                stream.pointee.next_in = hasInput ? base + chunk.data + consumed : base
                stream.pointee.avail_in = hasInput ? UInt32(chunk.length - consumed) : 0
                // Once the announced size is reached, offer one spare byte: any output into it
                // is data beyond the image.
                let full = produced == size
                stream.pointee.next_out = full ? spare : out.baseAddress! + produced
                stream.pointee.avail_out = full ? 1 : UInt32(min(size - produced, Int(UInt32.max)))
                let before = stream.pointee.avail_out
                let code = CZlib.inflate(stream, Z_NO_FLUSH)
                if hasInput { consumed = chunk.length - Int(stream.pointee.avail_in) }
                let wrote = Int(before - stream.pointee.avail_out)
                if full && wrote > 0 {
                    failure = PNGError(offset: chunk.offset, chunk: "IDAT", "more image data than the \(size) bytes of filtered scanlines IHDR announces")
                    break
                }
                produced += wrote
                if code == Z_OK { continue }
                if code == Z_STREAM_END { break }
                if code == Z_BUF_ERROR && !hasInput {
                    failure = PNGError(offset: chunk.offset, chunk: "IDAT",
                                       "truncated image data: the zlib stream breaks off after \(produced) of \(size) bytes of filtered scanlines")
                } else if code == Z_DATA_ERROR {
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "invalid deflate data"
                    failure = PNGError(offset: chunk.offset, chunk: "IDAT", "corrupt zlib data: \(reason)")
                } else {
                    failure = PNGError(offset: chunk.offset, chunk: "IDAT", "zlib failed with code \(code)")
                }
                break
            }
            if failure == nil && produced < size {
                failure = PNGError(offset: idat.last!.offset, chunk: "IDAT",
                                   "expected \(size) bytes of filtered scanlines, the zlib stream holds \(produced)")
            }
            // Zero what was not written (only on failure) so that the array is initialised.
            if produced < size { (out.baseAddress! + produced).initialize(repeating: 0, count: size - produced) }
            initialized = size
        }
        if let failure { throw failure }
        return output
    }

    // MARK: Filters

    /// Undoes the per-row filters in place (`rows` rows of `1 + stride` bytes).
    private static func unfilter(_ data: UnsafeMutablePointer<UInt8>, rows: Int, stride: Int, bytesPerPixel bpp: Int,
                                 pass: Int?, idat: Int) throws(PNGError) {
        let zeros = UnsafeMutablePointer<UInt8>.allocate(capacity: max(stride, 1))
        zeros.initialize(repeating: 0, count: max(stride, 1))
        defer { zeros.deallocate() }
        var up = zeros
        for row in 0..<rows {
            let line = data + row * (stride + 1)
            let filter = line[0]
            let x = line + 1
            switch filter {
            case 0:
                break
            case 1:
                if stride > bpp { for i in bpp..<stride { x[i] = x[i] &+ x[i - bpp] } }
            case 2:
                for i in 0..<stride { x[i] = x[i] &+ up[i] }
            case 3:
                for i in 0..<min(bpp, stride) { x[i] = x[i] &+ up[i] >> 1 }
                if stride > bpp { for i in bpp..<stride { x[i] = x[i] &+ UInt8((Int(x[i - bpp]) + Int(up[i])) >> 1) } }
            case 4:
                for i in 0..<min(bpp, stride) { x[i] = x[i] &+ up[i] }   // Paeth with a = c = 0 picks b
                if stride > bpp {
                    for i in bpp..<stride {
                        let a = Int(x[i - bpp]), b = Int(up[i]), c = Int(up[i - bpp])
                        let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
                        x[i] = x[i] &+ UInt8(pa <= pb && pa <= pc ? a : pb <= pc ? b : c)
                    }
                }
            default:
                let where_ = pass.map { "row \(row) of Adam7 pass \($0)" } ?? "row \(row)"
                throw PNGError(offset: idat, chunk: "IDAT", "unknown filter type \(filter) at \(where_) (expected 0…4)")
            }
            up = x
        }
    }

    /// Writes a (pass) sub-image's unfiltered rows into the samples, expanding bit depths below
    /// 8, 16-bit big-endian pairs and palette indices.
    private static func expand(_ data: UnsafeMutablePointer<UInt8>, layout: (width: Int, height: Int, stride: Int), pass: Pass,
                               header: Header, palette: [UInt8]?, alphas: [UInt8]?, outChannels: Int,
                               into samples: inout [UInt16]) throws(PNGError) {
        let fileChannels = header.fileChannels
        let depth = header.bitDepth
        var badIndex: (Int, Int)?
        samples.withUnsafeMutableBufferPointer { out in
            for row in 0..<layout.height {
                let x = data + row * (layout.stride + 1) + 1
                let y = pass.y + row * pass.dy
                for column in 0..<layout.width {
                    let base = ((y * header.width) + pass.x + column * pass.dx) * outChannels
                    if header.colorType == 3 {
                        let index = Int(sample(x, column, depth))
                        guard let palette, index < palette.count / 3 else { badIndex = (index, palette?.count ?? 0); return }
                        out[base] = UInt16(palette[3 * index])
                        out[base + 1] = UInt16(palette[3 * index + 1])
                        out[base + 2] = UInt16(palette[3 * index + 2])
                        if let alphas { out[base + 3] = UInt16(index < alphas.count ? alphas[index] : 255) }
                    } else if depth == 16 {
                        for c in 0..<fileChannels {
                            let k = 2 * (column * fileChannels + c)
                            out[base + c] = UInt16(x[k]) << 8 | UInt16(x[k + 1])
                        }
                    } else if depth == 8 {
                        for c in 0..<fileChannels { out[base + c] = UInt16(x[column * fileChannels + c]) }
                    } else {
                        out[base] = sample(x, column, depth)
                    }
                }
            }
        }
        if let (index, size) = badIndex {
            throw PNGError(chunk: "IDAT", "palette index \(index) is outside the \(size / 3) PLTE entries")
        }
    }

    /// Sample `i` of a row of `depth`-bit (1, 2, 4 or 8) samples, most significant bits first.
    @inline(__always)
    private static func sample(_ row: UnsafeMutablePointer<UInt8>, _ i: Int, _ depth: Int) -> UInt16 {
        if depth == 8 { return UInt16(row[i]) }
        let bit = i * depth
        let shift = 8 - depth - bit % 8
        return UInt16((row[bit / 8] >> UInt8(shift)) & UInt8((1 << depth) - 1))
    }

    // MARK: Adam7

    struct Pass {
        let x, y, dx, dy: Int
        func width(_ w: Int) -> Int { w > x ? (w - x + dx - 1) / dx : 0 }
        func height(_ h: Int) -> Int { h > y ? (h - y + dy - 1) / dy : 0 }
    }

    /// The seven passes of Adam7: start column and row, column and row steps.
    static let adam7 = [Pass(x: 0, y: 0, dx: 8, dy: 8), Pass(x: 4, y: 0, dx: 8, dy: 8), Pass(x: 0, y: 4, dx: 4, dy: 8),
                        Pass(x: 2, y: 0, dx: 4, dy: 4), Pass(x: 0, y: 2, dx: 2, dy: 4), Pass(x: 1, y: 0, dx: 2, dy: 2),
                        Pass(x: 0, y: 1, dx: 1, dy: 2)]

    // MARK: Helpers

    private static func bigEndian32(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
        UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }

    private static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    private static func multiplied(_ a: Int, _ b: Int) -> Int? {
        let (r, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : r
    }
}
