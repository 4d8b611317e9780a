// NumPy's `.npz` archives: a zip of `.npy` members, stored or deflated.

/// An `.npz` archive as `np.savez` and `np.savez_compressed` write it: a zip file whose members
/// are `.npy` files, stored (method 0) or deflated (method 8), with or without zip64 records.
///
/// Reading is a pure function from bytes to an archive or a `NumpyError`. The zip's central
/// directory is parsed when the archive is opened (every entry's range, sizes and method
/// checked against the bytes); a member is inflated when asked for (`array(named:)`), after
/// its announced uncompressed size is checked against `maximumMemberBytes`, and its CRC-32
/// is verified. Encrypted members, other compression methods and multi-disk archives are
/// refused.
///
/// - Complexity: O(directory) to open; O(member) per array read.
public struct NumpyArchive: Sendable {
    /// One member of the zip.
    public struct Member: Sendable, Equatable {
        /// The file name in the archive (`x.npy`).
        public let fileName: String
        /// 0 (stored) or 8 (deflated).
        public let method: UInt16
        public let compressedSize: Int
        public let uncompressedSize: Int
        public let crc32: UInt32
        /// Where the member's data start in the archive.
        let dataOffset: Int

        /// The array name: the file name without `.npy` (what `np.load(...)[name]` uses).
        public var name: String { fileName.hasSuffix(".npy") ? String(fileName.dropLast(4)) : fileName }
    }

    public let members: [Member]
    /// The largest uncompressed member this archive will inflate.
    public let maximumMemberBytes: Int
    private let bytes: [UInt8]

    /// The array names, in archive order.
    public var names: [String] { members.map(\.name) }

    /// Opens `.npz` bytes: parses and checks the zip directory.
    /// - Throws: `NumpyError` when the bytes are not a zip archive, the directory is
    ///   inconsistent with the file, or a member is encrypted, split over disks or compressed
    ///   with a method other than stored or deflate.
    public init(npz bytes: [UInt8], maximumMemberBytes: Int) throws(NumpyError) {
        self.bytes = bytes
        self.maximumMemberBytes = maximumMemberBytes
        let result = bytes.withUnsafeBytes { raw in Result { () throws(NumpyError) -> [Member] in try Self.directory(raw) } }
        self.members = try result.get()
    }

    /// The member whose array name (or file name) is `name`.
    public func member(named name: String) -> Member? {
        members.first { $0.name == name } ?? members.first { $0.fileName == name }
    }

    /// The raw (inflated, CRC-checked) bytes of a member.
    public func memberBytes(_ member: Member) throws(NumpyError) -> [UInt8] {
        guard member.uncompressedSize <= maximumMemberBytes else {
            throw NumpyError(.tooLarge, "the .npz member \(member.fileName) holds \(member.uncompressedSize) bytes uncompressed, more than the \(maximumMemberBytes) allowed here")
        }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(NumpyError) -> [UInt8] in
                let data = UnsafeRawBufferPointer(rebasing: raw[member.dataOffset..<(member.dataOffset + member.compressedSize)])
                let out: [UInt8]
                if member.method == 0 {
                    out = Array(data)
                } else {
                    do throws(ZlibError) { out = try Zlib.inflateRaw(data, count: member.uncompressedSize) } catch {
                        throw NumpyError(.malformed, "the .npz member \(member.fileName): \(error.reason)")
                    }
                }
                let crc = out.withUnsafeBytes { Zlib.crc32($0) }
                guard crc == member.crc32 else {
                    throw NumpyError(.malformed, "the .npz member \(member.fileName) fails its CRC-32 check (corrupt archive)")
                }
                return out
            }
        }
        return try result.get()
    }

    /// The array stored as `name` (`x` or `x.npy`).
    /// - Throws: `NumpyError.missingMember` (listing the names present) or the member's
    ///   inflate or `.npy` error, prefixed with its name.
    public func array(named name: String) throws(NumpyError) -> NumpyArray {
        guard let member = member(named: name) else {
            throw NumpyError(.missingMember, "the .npz archive has no array '\(name)'; it holds \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        let data = try memberBytes(member)
        do { return try NumpyArray(npy: data) } catch {
            throw NumpyError(error.kind, "the .npz member \(member.fileName): \(error.reason)")
        }
    }

    // MARK: - The zip directory

    private static func malformed(_ message: String) -> NumpyError {
        NumpyError(.malformed, "corrupt .npz (zip) archive: \(message)")
    }

    private static func directory(_ raw: UnsafeRawBufferPointer) throws(NumpyError) -> [Member] {
        func u16(_ at: Int) -> Int { Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        func u64(_ at: Int) throws(NumpyError) -> Int {
            let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            guard v <= UInt64(Int.max) else { throw malformed("a zip64 size or offset does not fit in 64-bit signed arithmetic") }
            return Int(v)
        }
        let count = raw.count
        guard count >= 4, u32(0) == 0x0403_4b50 || u32(0) == 0x0605_4b50 else {
            throw NumpyError(.notNumpy, "not an .npz file: it does not start with a zip signature (PK\\x03\\x04)")
        }
        // The end-of-central-directory record: 22 bytes, then a comment of up to 65 535 bytes.
        var eocd = -1
        if count >= 22 {
            var at = count - 22
            let lowest = max(0, count - 22 - 65535)
            while at >= lowest {
                if u32(at) == 0x0605_4b50 && at + 22 + u16(at + 20) == count { eocd = at; break }
                at -= 1
            }
        }
        guard eocd >= 0 else { throw malformed("no end-of-central-directory record (truncated file?)") }
        var entryCount = u16(eocd + 10)
        var directorySize = u32(eocd + 12)
        var directoryOffset = u32(eocd + 16)
        guard u16(eocd + 4) == 0, u16(eocd + 6) == 0 else {
            throw NumpyError(.unsupported, "the .npz archive spans several disks, which is not supported")
        }
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // Zip64: a locator just before the record points at the zip64 end record.
            let locator = eocd - 20
            guard locator >= 0, u32(locator) == 0x0706_4b50 else { throw malformed("a zip64 archive without its zip64 locator") }
            let end = try u64(locator + 8)
            guard end <= count - 56, u32(end) == 0x0606_4b50 else { throw malformed("the zip64 end-of-central-directory record is missing") }
            entryCount = try u64(end + 32)
            directorySize = try u64(end + 40)
            directoryOffset = try u64(end + 48)
        }
        guard directoryOffset <= count, directorySize <= count - directoryOffset else {
            throw malformed("the central directory (\(directorySize) bytes at \(directoryOffset)) lies outside the \(count)-byte file")
        }
        guard entryCount <= directorySize / 46 else {
            throw malformed("\(entryCount) entries cannot fit in a \(directorySize)-byte central directory")
        }
        var members: [Member] = []
        var seen: Set<String> = []
        members.reserveCapacity(entryCount)
        var at = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for index in 0..<entryCount {
            guard at + 46 <= directoryEnd, u32(at) == 0x0201_4b50 else { throw malformed("central directory entry \(index) is missing or damaged") }
            let flags = u16(at + 8), method = u16(at + 10)
            let crc = UInt32(u32(at + 16))
            var compressed = u32(at + 20), uncompressed = u32(at + 24)
            let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            var disk = u16(at + 34)
            var localOffset = u32(at + 42)
            let nameStart = at + 46
            let extraStart = nameStart + nameLength, entryEnd = extraStart + extraLength + commentLength
            guard entryEnd <= directoryEnd else { throw malformed("central directory entry \(index) runs past the directory") }
            let fileName = String(decoding: UnsafeRawBufferPointer(rebasing: raw[nameStart..<extraStart]), as: UTF8.self)
            // The zip64 extra field (id 1) holds, in order, the fields whose 32-bit value is all ones.
            var extra = extraStart
            while extra + 4 <= extraStart + extraLength {
                let id = u16(extra), size = u16(extra + 2)
                let body = extra + 4
                guard body + size <= extraStart + extraLength else { throw malformed("an extra field of \(fileName) runs past its entry") }
                if id == 1 {
                    var field = body
                    func next() throws(NumpyError) -> Int {
                        guard field + 8 <= body + size else { throw malformed("the zip64 field of \(fileName) is too short") }
                        defer { field += 8 }
                        return try u64(field)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                    if disk == 0xFFFF {
                        guard field + 4 <= body + size else { throw malformed("the zip64 field of \(fileName) is too short") }
                        disk = u32(field)
                    }
                }
                extra = body + size
            }
            guard flags & 1 == 0 else { throw NumpyError(.unsupported, "the .npz member \(fileName) is encrypted") }
            guard disk == 0 else { throw NumpyError(.unsupported, "the .npz member \(fileName) lies on another disk") }
            guard method == 0 || method == 8 else {
                throw NumpyError(.unsupported, "the .npz member \(fileName) uses zip compression method \(method); only stored (0) and deflate (8) are supported")
            }
            guard compressed != 0xFFFF_FFFF, uncompressed != 0xFFFF_FFFF, localOffset != 0xFFFF_FFFF else {
                throw malformed("the entry \(fileName) announces zip64 sizes but has no zip64 field")
            }
            if method == 0 && compressed != uncompressed {
                throw malformed("the stored member \(fileName) has compressed size \(compressed) but uncompressed size \(uncompressed)")
            }
            // The local header repeats the name and has its own extra field; the data follow it.
            guard localOffset <= count - 30, u32(localOffset) == 0x0403_4b50 else {
                throw malformed("the local header of \(fileName) is missing at offset \(localOffset)")
            }
            let dataOffset = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28)
            guard dataOffset <= count, compressed <= count - dataOffset else {
                throw malformed("the data of \(fileName) (\(compressed) bytes) run past the end of the file")
            }
            guard seen.insert(fileName).inserted else { throw malformed("the member \(fileName) appears twice") }
            members.append(Member(fileName: fileName, method: UInt16(method), compressedSize: compressed,
                                  uncompressedSize: uncompressed, crc32: crc, dataOffset: dataOffset))
            at = entryEnd
        }
        return members
    }
}

// MARK: - Writing

extension NumpyArchive {
    /// The bytes of an `.npz` archive holding `arrays` in the given order, each a stored
    /// (uncompressed) `<name>.npy` member, as `np.savez` writes them: `np.load` reads it, and
    /// `NumpyArchive(npz:)` gives the arrays back (`array(named:) == array`).
    ///
    /// - Precondition: names are distinct, at most 65 531 UTF-8 bytes, and the archive stays
    ///   under 4 GiB (no zip64 records are written).
    public static func npzBytes(_ arrays: [(name: String, array: NumpyArray)]) -> [UInt8] {
        precondition(Set(arrays.map(\.name)).count == arrays.count, "npz: array names must be distinct")
        precondition(arrays.count < 0xFFFF, "npz: at most 65 534 arrays without zip64")
        var out: [UInt8] = []
        var directory: [UInt8] = []
        func put16(_ v: Int, _ to: inout [UInt8]) { to += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func put32(_ v: Int, _ to: inout [UInt8]) { for s in stride(from: 0, to: 32, by: 8) { to.append(UInt8((v >> s) & 0xFF)) } }
        for (name, array) in arrays {
            let data = array.npyBytes()
            let fileName = Array((name + ".npy").utf8)
            precondition(fileName.count <= 0xFFFF, "npz: the array name '\(name)' is too long")
            let crc = Int(Zlib.crc32(data))
            let offset = out.count
            precondition(offset + 30 + fileName.count + data.count < 0xFFFF_FFFF, "npz: archives of 4 GiB or more need zip64")
            // Local header: version 2.0, no flags, stored, DOS date 1980-01-01 00:00.
            put32(0x0403_4b50, &out); put16(20, &out); put16(0, &out); put16(0, &out)
            put16(0, &out); put16(0x21, &out)
            put32(crc, &out); put32(data.count, &out); put32(data.count, &out)
            put16(fileName.count, &out); put16(0, &out)
            out += fileName
            out += data
            // Its central directory entry.
            put32(0x0201_4b50, &directory); put16(20, &directory); put16(20, &directory); put16(0, &directory); put16(0, &directory)
            put16(0, &directory); put16(0x21, &directory)
            put32(crc, &directory); put32(data.count, &directory); put32(data.count, &directory)
            put16(fileName.count, &directory); put16(0, &directory); put16(0, &directory)
            put16(0, &directory); put16(0, &directory); put32(0, &directory); put32(offset, &directory)
            directory += fileName
        }
        let directoryOffset = out.count
        out += directory
        put32(0x0605_4b50, &out); put16(0, &out); put16(0, &out)
        put16(arrays.count, &out); put16(arrays.count, &out)
        put32(directory.count, &out); put32(directoryOffset, &out); put16(0, &out)
        return out
    }
}
