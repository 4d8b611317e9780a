import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic file writes with an explicit mode: a temporary file created with `mode` in the
/// destination's folder, written, flushed to disk, then renamed over the destination. The secret
/// never exists in a file with looser permissions, whatever the umask or an older file's mode.
enum SecureFile {
    static func writeAtomically(_ data: Data, to url: URL, mode: mode_t) throws {
        let path = url.path
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw PaillierError.fileError(path: path, reason: "cannot create a file in \(folder) (\(String(cString: strerror(errno))))")
        }
        var ok = fchmod(fd, mode) == 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while ok && offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { ok = false } else { offset += written }
            }
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw PaillierError.fileError(path: path, reason: "cannot be written (\(String(cString: strerror(errno))))")
        }
    }
}
